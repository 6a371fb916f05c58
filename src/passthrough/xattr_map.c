/* xattr_map.c: the --xattrmap rule language (see xattr_map.h). */
#include "passthrough/xattr_map.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rules of the text plus map's expansion (4) and the implicit end. */
#define XATTR_MAP_MAX_RULES 1024

struct parse {
	const char *text;
	const char *pos;
	unsigned rule;		/* the one being read, 1-based */
	char *err;
	size_t err_size;
	struct xattr_map_rule *rules;
	size_t count, cap;
};

__attribute__((format(printf, 2, 3)))
static int parse_fail(struct parse *p, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->rule)
		snprintf(p->err, p->err_size, "rule %u: %s", p->rule, what);
	else
		snprintf(p->err, p->err_size, "%s", what);
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_blanks(struct parse *p)
{
	while (is_blank(*p->pos))
		p->pos++;
}

/* The next field: up to the separator, which must come. *out is a
 * fresh string. */
static int field(struct parse *p, char sep, const char *what, char **out)
{
	const char *end = strchr(p->pos, sep);
	size_t len;

	*out = NULL;
	if (!end)
		return parse_fail(p, "ends before the '%c' after its %s "
				  "(a rule is %ctype%cscope%ckey%cprepend%c)",
				  sep, what, sep, sep, sep, sep, sep);
	len = (size_t)(end - p->pos);
	*out = strndup(p->pos, len);
	if (!*out)
		return parse_fail(p, "out of memory");
	p->pos = end + 1;
	return 0;
}

static int rule_add(struct parse *p, enum xattr_map_type type, unsigned scope, const char *key,
		    const char *prepend, unsigned source)
{
	struct xattr_map_rule *r;

	if (strlen(key) > XATTR_NAME_MAX || strlen(prepend) > XATTR_NAME_MAX)
		return parse_fail(p, "a key or prefix longer than %d bytes, which no xattr "
				  "name can match", XATTR_NAME_MAX);
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;

		if (cap > XATTR_MAP_MAX_RULES)
			return parse_fail(p, "more than %d rules", XATTR_MAP_MAX_RULES - 5);
		r = realloc(p->rules, cap * sizeof(*r));
		if (!r)
			return parse_fail(p, "out of memory");
		p->rules = r;
		p->cap = cap;
	}
	r = &p->rules[p->count];
	*r = (struct xattr_map_rule){ .type = type, .scope = scope, .source = source,
				      .key = strdup(key), .prepend = strdup(prepend) };
	if (!r->key || !r->prepend) {
		free(r->key);
		free(r->prepend);
		return parse_fail(p, "out of memory");
	}
	p->count++;
	return 0;
}

static int scope_parse(struct parse *p, const char *s, unsigned *scope)
{
	if (!strcmp(s, "client"))
		*scope = XATTR_MAP_CLIENT;
	else if (!strcmp(s, "server"))
		*scope = XATTR_MAP_SERVER;
	else if (!strcmp(s, "all"))
		*scope = XATTR_MAP_ALL;
	else
		return parse_fail(p, "unknown scope '%s' (expected client, server or all)", s);
	return 0;
}

/* ":map:key:prepend:" as the rules it stands for. */
static int map_expand(struct parse *p, const char *key, const char *prepend)
{
	unsigned src = p->rule;

	if (rule_add(p, XATTR_MAP_PREFIX, XATTR_MAP_ALL, key, prepend, src) < 0)
		return -1;
	/* everything is prefixed: hide whatever on the host is not */
	if (!*key)
		return rule_add(p, XATTR_MAP_BAD, XATTR_MAP_ALL, "", "", src);
	/* only key is: hide the host's own names under key, keep the guest
	 * from the prefixed names, let the rest through */
	if (rule_add(p, XATTR_MAP_BAD, XATTR_MAP_SERVER, "", key, src) < 0 ||
	    rule_add(p, XATTR_MAP_BAD, XATTR_MAP_CLIENT, prepend, "", src) < 0)
		return -1;
	return rule_add(p, XATTR_MAP_OK, XATTR_MAP_ALL, "", "", src);
}

/* One rule at p->pos (its separator). Sets *was_map for a map rule. */
static int rule_parse(struct parse *p, bool *was_map)
{
	static const struct { const char *name; enum xattr_map_type type; } types[] = {
		{ "prefix", XATTR_MAP_PREFIX }, { "ok", XATTR_MAP_OK },
		{ "bad", XATTR_MAP_BAD }, { "unsupported", XATTR_MAP_UNSUPPORTED },
	};
	char sep = *p->pos++;
	char *type = NULL, *scope = NULL, *key = NULL, *prepend = NULL;
	unsigned sc = 0;
	int ret = -1;

	*was_map = false;
	if (field(p, sep, "type", &type) < 0)
		goto out;
	if (!strcmp(type, "map")) {
		*was_map = true;
		if (field(p, sep, "key", &key) < 0 || field(p, sep, "prepend", &prepend) < 0)
			goto out;
		ret = map_expand(p, key, prepend);
		goto out;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(type, types[i].name))
			continue;
		if (field(p, sep, "scope", &scope) < 0 || scope_parse(p, scope, &sc) < 0 ||
		    field(p, sep, "key", &key) < 0 || field(p, sep, "prepend", &prepend) < 0)
			goto out;
		ret = rule_add(p, types[i].type, sc, key, prepend, p->rule);
		goto out;
	}
	parse_fail(p, "unknown type '%s' (expected prefix, ok, bad, unsupported or map)", type);
out:
	free(type);
	free(scope);
	free(key);
	free(prepend);
	return ret;
}

/* Whether the rules end with one that matches every name of each side,
 * so the implicit end would never be reached. */
static bool catches_all(const struct parse *p, unsigned scope)
{
	for (size_t i = 0; i < p->count; i++) {
		const struct xattr_map_rule *r = &p->rules[i];

		if (!(r->scope & scope))
			continue;
		if (!*(scope == XATTR_MAP_CLIENT ? r->key : r->prepend))
			return true;
	}
	return false;
}

struct xattr_map *xattr_map_parse(const char *text, char *err, size_t err_size)
{
	struct parse p = { .text = text, .pos = text, .err = err, .err_size = err_size };
	struct xattr_map *map = NULL;
	bool had_map = false;

	if (err_size)
		err[0] = '\0';
	if (!text)
		text = p.pos = "";
	for (skip_blanks(&p); *p.pos; skip_blanks(&p)) {
		bool was_map;

		p.rule++;
		if (had_map) {
			parse_fail(&p, "comes after a map rule, which must be the last");
			goto fail;
		}
		if (rule_parse(&p, &was_map) < 0)
			goto fail;
		had_map = was_map;
	}
	p.rule = 0;
	if (!p.count) {
		parse_fail(&p, "no rules (e.g. :map::user.virtiofs.:)");
		goto fail;
	}
	/* as QEMU: no rule matched means bad (EPERM, hidden) */
	if ((!catches_all(&p, XATTR_MAP_CLIENT) || !catches_all(&p, XATTR_MAP_SERVER)) &&
	    rule_add(&p, XATTR_MAP_BAD, XATTR_MAP_ALL, "", "", 0) < 0)
		goto fail;
	map = malloc(sizeof(*map) + p.count * sizeof(map->rules[0]));
	if (!map) {
		parse_fail(&p, "out of memory");
		goto fail;
	}
	map->count = p.count;
	memcpy(map->rules, p.rules, p.count * sizeof(map->rules[0]));
	free(p.rules);
	return map;

fail:
	for (size_t i = 0; i < p.count; i++) {
		free(p.rules[i].key);
		free(p.rules[i].prepend);
	}
	free(p.rules);
	return NULL;
}

void xattr_map_free(struct xattr_map *map)
{
	if (!map)
		return;
	for (size_t i = 0; i < map->count; i++) {
		free(map->rules[i].key);
		free(map->rules[i].prepend);
	}
	free(map);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The rule that decides name on side (XATTR_MAP_CLIENT or _SERVER); the
 * parser made sure one always does. */
static const struct xattr_map_rule *rule_for(const struct xattr_map *map, unsigned side,
					     const char *name)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct xattr_map_rule *r = &map->rules[i];

		if ((r->scope & side) &&
		    starts_with(name, side == XATTR_MAP_CLIENT ? r->key : r->prepend))
			return r;
	}
	return NULL;
}

/* The server rules alone: host name to guest name, or NULL. */
static const char *server_name(const struct xattr_map *map, const char *host)
{
	const struct xattr_map_rule *r = rule_for(map, XATTR_MAP_SERVER, host);
	const char *guest;

	if (!r)
		return NULL;
	switch (r->type) {
	case XATTR_MAP_OK:
		guest = host;
		break;
	case XATTR_MAP_PREFIX:
		guest = host + strlen(r->prepend);
		break;
	case XATTR_MAP_BAD:
	case XATTR_MAP_UNSUPPORTED:
	default:
		return NULL;
	}
	return *guest ? guest : NULL;
}

/* The client rules alone: guest name to host name (in host). */
static int client_name(const struct xattr_map *map, const char *guest, char *host,
		       size_t host_size)
{
	const struct xattr_map_rule *r = rule_for(map, XATTR_MAP_CLIENT, guest);
	const char *prepend = "";
	size_t plen, glen = strlen(guest);

	if (!r)
		return -EPERM;
	switch (r->type) {
	case XATTR_MAP_BAD:
		return -EPERM;
	case XATTR_MAP_UNSUPPORTED:
		return -ENOTSUP;
	case XATTR_MAP_PREFIX:
		prepend = r->prepend;
		break;
	case XATTR_MAP_OK:
	default:
		break;
	}
	plen = strlen(prepend);
	if (plen + glen > XATTR_NAME_MAX || plen + glen >= host_size)
		return -ERANGE;
	memcpy(host, prepend, plen);
	memcpy(host + plen, guest, glen + 1);
	return 0;
}

/* A guest name and a host name go together only when each side's rules
 * take one to the other: then the guest reaches exactly the host names it
 * is shown, each under one name. */
const char *xattr_map_to_guest(const struct xattr_map *map, const char *host)
{
	const char *guest = server_name(map, host);
	char back[XATTR_NAME_MAX + 1];

	if (!guest || client_name(map, guest, back, sizeof(back)) != 0 || strcmp(back, host))
		return NULL;
	return guest;
}

int xattr_map_to_host(const struct xattr_map *map, const char *guest, char *host,
		      size_t host_size)
{
	const char *back;
	int ret = client_name(map, guest, host, host_size);

	if (ret)
		return ret;
	back = server_name(map, host);
	if (!back || strcmp(back, guest) != 0)
		return -EPERM;
	return 0;
}

size_t xattr_map_list(const struct xattr_map *map, char *list, size_t len,
		      bool (*keep)(const char *host, const char *guest, void *arg), void *arg)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in);
		const char *guest;

		if (in + n == len)
			break;	/* no NUL: not a name */
		guest = map ? xattr_map_to_guest(map, list + in) : list + in;
		if (guest && *guest && (!keep || keep(list + in, guest, arg))) {
			size_t g = strlen(guest);

			/* guest lies at or after list + in, and out <= in */
			memmove(list + out, guest, g + 1);
			out += g + 1;
		}
		in += n + 1;
	}
	return out;
}
