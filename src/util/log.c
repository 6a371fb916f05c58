/* log.c: stderr or syslog output with a process-wide level. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

/* The level is set once at start-up, before any thread exists. */
static enum log_level current_level = LOG_LEVEL_INFO;
static bool log_to_syslog;

static const char *const level_names[] = {
	[LOG_LEVEL_OFF] = "off",     [LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_init(enum log_level level, bool use_syslog)
{
	current_level = level;
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog("virtiofsd", LOG_PID, LOG_DAEMON);
}

enum log_level log_get_level(void)
{
	return current_level;
}

bool log_enabled(enum log_level level)
{
	return level != LOG_LEVEL_OFF && level <= current_level;
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return LOG_ERR;
	case LOG_LEVEL_WARN: return LOG_WARNING;
	case LOG_LEVEL_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

void log_message(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;

	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	if (log_to_syslog) {
		syslog(syslog_priority(level), "%s", text);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	/* One fprintf call so concurrent threads' lines do not interleave. */
	fprintf(stderr, "[%04d-%02d-%02dT%02d:%02d:%02dZ %s virtiofsd] %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, level_names[level], text);
}
