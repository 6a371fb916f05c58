/* log.h: the daemon's one logger, to stderr or syslog.
 * Levels follow the Rust virtiofsd's --log-level names. Never logs per
 * successful request at the default level (info). */
#ifndef VFSD_LOG_H
#define VFSD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_OFF = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

/* Parses "error", "warn", "info", "debug", "trace" or "off", in any case
 * (as the Rust virtiofsd's log crate does). */
int log_level_parse(const char *name, enum log_level *out);
void log_init(enum log_level level, bool use_syslog);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

void log_message(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_enabled(LOG_LEVEL_DEBUG)) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define log_trace(...) \
	do { if (log_enabled(LOG_LEVEL_TRACE)) log_message(LOG_LEVEL_TRACE, __VA_ARGS__); } while (0)

/* A hostile guest can repeat a bad request forever; these log the first
 * occurrence at each call site and count the rest silently. */
#define log_once(level, ...) \
	do { \
		static int logged_once_; \
		if (!__atomic_exchange_n(&logged_once_, 1, __ATOMIC_RELAXED)) \
			log_message(level, __VA_ARGS__); \
	} while (0)
#define log_error_once(...) log_once(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn_once(...) log_once(LOG_LEVEL_WARN, __VA_ARGS__)

#endif
