/*
 * pfsd.h - the handler plugin interface of pfsd, the prefork server daemon.
 *
 * A handler is a shared object that includes this header, names itself with
 * PFSD_PLUGIN() and defines process_request(); every other hook is optional
 * and found by its exact name.  See pfsd-plugin(3).
 *
 * ABI rules: PFSD_ABI_MAJOR changes when a built plugin would break (pfsd
 * refuses it); PFSD_ABI_MINOR grows when functions are added (a plugin built
 * against a newer minor than the running pfsd is refused, an older one is
 * accepted).  The structures are opaque so that adding state never breaks a
 * built plugin; everything is reached through the functions below.
 */
#ifndef PFSD_H
#define PFSD_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PFSD_ABI_MAJOR	1
#define PFSD_ABI_MINOR	2

#if defined(__GNUC__)
#define PFSD_EXPORT	__attribute__((visibility("default")))
#define PFSD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PFSD_EXPORT
#define PFSD_PRINTF(f, a)
#endif

/*
 * ABI 1.1: a handler declares its own options as data, and pfsd checks
 * them exactly like its own keys (FILE:LINE: key: problem, exit 78), lists
 * them in --help and -T, and pfsd_option() returns the checked value.
 * A handler that declares options makes every key pfsd does not know an
 * error instead of a warning.
 */
enum pfsd_option_kind {
	PFSD_OPT_STRING = 0,	/* any text */
	PFSD_OPT_NUMBER = 1,	/* decimal within [min, max]; 0, 0: any */
	PFSD_OPT_BOOLEAN = 2,	/* yes/no, on/off...; read back "1" or "0" */
	PFSD_OPT_LIST = 3,	/* text, may be repeated: pfsd_option_at() */
	PFSD_OPT_ENUM = 4,	/* one of choices (NULL-ended) */
	PFSD_OPT_PATH = 5	/* a file name, made absolute */
};

struct pfsd_option_def {
	const char		*name;		/* NULL ends the array */
	enum pfsd_option_kind	 kind;
	const char		*def;		/* default as text, or NULL */
	long			 min, max;	/* PFSD_OPT_NUMBER */
	const char *const	*choices;	/* PFSD_OPT_ENUM */
	const char		*help;		/* one line for --help */
};

/* The descriptor every plugin exports; written by PFSD_PLUGIN(). */
struct pfsd_plugin {
	unsigned int	 abi_major;
	unsigned int	 abi_minor;
	const char	*name;
	/* ABI 1.1; not read from a plugin built for 1.0, which lacks it */
	const struct pfsd_option_def *options;
};

#define PFSD_PLUGIN_SYMBOL	"pfsd_plugin"

/*
 * PFSD_PLUGIN("name") names a handler without options of its own;
 * PFSD_PLUGIN_OPTIONS("name", defs) also declares them (defs: an array of
 * struct pfsd_option_def ended by an entry whose name is NULL).
 */
#ifdef __cplusplus
#define PFSD_PLUGIN_OPTIONS(n, o)					\
	extern "C" PFSD_EXPORT const struct pfsd_plugin pfsd_plugin;	\
	const struct pfsd_plugin pfsd_plugin = {			\
		PFSD_ABI_MAJOR, PFSD_ABI_MINOR, (n), (o) }
#else
#define PFSD_PLUGIN_OPTIONS(n, o)					\
	PFSD_EXPORT const struct pfsd_plugin pfsd_plugin = {		\
		PFSD_ABI_MAJOR, PFSD_ABI_MINOR, (n), (o) }
#endif
#define PFSD_PLUGIN(n)	PFSD_PLUGIN_OPTIONS((n), NULL)

struct pfsd_server;		/* the daemon, one per process */
struct pfsd_request;		/* one connection or datagram */

enum pfsd_proto {
	PFSD_PROTO_TCP = 0,
	PFSD_PROTO_UDP = 1,
	PFSD_PROTO_UNIX = 2
};

enum pfsd_log_level {
	PFSD_LOG_ERR = 0,
	PFSD_LOG_WARNING = 1,
	PFSD_LOG_NOTICE = 2,
	PFSD_LOG_INFO = 3,
	PFSD_LOG_DEBUG = 4
};

/* Logging: goes where log_file says, filtered by log_level. */
void	pfsd_log(int level, const char *fmt, ...) PFSD_PRINTF(2, 3);

/*
 * Options: the value of any configuration key, the handler's own keys
 * included.  pfsd_option() gives the last value (NULL when unset);
 * list keys are read with pfsd_option_count() and pfsd_option_at().
 */
const char	*pfsd_option(const struct pfsd_server *srv, const char *key);
size_t		 pfsd_option_count(const struct pfsd_server *srv,
		    const char *key);
const char	*pfsd_option_at(const struct pfsd_server *srv,
		    const char *key, size_t i);

/* Ask the current child to exit after this request. */
void	pfsd_done(struct pfsd_server *srv);

/* The server: generation (HUPs since start), requests this child served. */
unsigned int		 pfsd_generation(const struct pfsd_server *srv);
unsigned long		 pfsd_requests(const struct pfsd_server *srv);

/* The request. */
struct pfsd_server	*pfsd_request_server(const struct pfsd_request *req);
int			 pfsd_request_fd(const struct pfsd_request *req);
enum pfsd_proto		 pfsd_request_proto(const struct pfsd_request *req);
const char		*pfsd_peer_addr(const struct pfsd_request *req);
int			 pfsd_peer_port(const struct pfsd_request *req);
const char		*pfsd_peer_host(const struct pfsd_request *req);
const char		*pfsd_local_addr(const struct pfsd_request *req);
int			 pfsd_local_port(const struct pfsd_request *req);
const struct sockaddr	*pfsd_peer_sockaddr(const struct pfsd_request *req,
			    socklen_t *len);
/* ABI 1.1: a UDP request's datagram (length in *len); NULL otherwise. */
const void		*pfsd_request_data(const struct pfsd_request *req,
			    size_t *len);
/* Behind a balancer (proxy_protocol), the peer is the client the PROXY
 * header names; this is the balancer's address, or NULL without one.
 * ABI 1.1. */
const char		*pfsd_proxy_addr(const struct pfsd_request *req);

/*
 * Since ABI 1.1.  pfsd_request_allowed: did this request pass allow/deny
 * and allow_deny_hook (for post_process_request_hook, which Net::Server
 * gives that answer as its argument)?  pfsd_child_kind: "worker" or
 * "dequeue" in a child, NULL in the parent.  pfsd_set_option: change a
 * setting from a hook, for the keys where that is safe: max_servers (in
 * the parent: the pool grows or shrinks as with TTIN/TTOU), max_requests
 * (in a child: this child's limit; in the parent: children started from
 * now on), log_level (this process).  0, or -1 with errno EINVAL (not one
 * of those keys, or a bad value) or EPERM (max_servers in a child).
 */
int		 pfsd_request_allowed(const struct pfsd_request *req);
const char	*pfsd_child_kind(const struct pfsd_server *srv);
int		 pfsd_set_option(struct pfsd_server *srv, const char *key,
		    const char *value);

/*
 * TLS (ports with proto ssl; since ABI 1.1): the negotiated version
 * ("TLSv1.3"), cipher, the server name the client asked for (SNI), and the
 * subject of the client certificate when one was sent and verified.  NULL
 * on plain connections, and when there is no such name or certificate.
 */
const char	*pfsd_tls_version(const struct pfsd_request *req);
const char	*pfsd_tls_cipher(const struct pfsd_request *req);
const char	*pfsd_tls_sni(const struct pfsd_request *req);
const char	*pfsd_tls_peer_subject(const struct pfsd_request *req);

/*
 * The connection's bytes (since ABI 1.2): read(2), write(2) and
 * shutdown(SHUT_WR) of a stream connection, plain or TLS alike, each
 * wait for the client bounded by timeout_ms (-1: none; 0 is taken as 1;
 * request_timeout applies regardless).  Over TLS they call OpenSSL in
 * the handler's own thread, so the bytes skip the relay (no copy, no
 * thread to wake): the fast way for a handler that keeps connections
 * alive.  When the limit passes: -1 with errno EAGAIN; a signal: EINTR.
 * pfsd_write may write less than asked, as write(2) does; over TLS, a
 * write whose limit passed ends the connection (a record is half sent),
 * and later calls fail with EPIPE.  pfsd_shutdown ends the output (a
 * FIN, or TLS close_notify); input can still be read.  A UDP request:
 * -1 with errno EOPNOTSUPP.  Not from two threads at once.  On a TLS
 * port, use these or stdin/stdout/pfsd_request_fd() for a request, not
 * both; pfsd-plugin(3) says what happens at the switch.
 */
ssize_t	pfsd_read(struct pfsd_request *req, void *buf, size_t len,
	    int timeout_ms);
ssize_t	pfsd_write(struct pfsd_request *req, const void *buf, size_t len,
	    int timeout_ms);
int	pfsd_shutdown(struct pfsd_request *req);

/*
 * The hooks.  Declared here so that a plugin's definitions are checked
 * against them; define the ones you need with these exact prototypes.
 * Return 0 for success.  A non-zero return from post_configure_hook,
 * post_bind_hook or pre_loop_hook stops pfsd; from run_n_children_hook it
 * skips that round of forking (logged, retried after a backoff); from
 * child_init_hook it ends that child.  allow_deny_hook returns 0 to deny
 * the connection.
 */
int	process_request(struct pfsd_request *req);

int	post_configure_hook(struct pfsd_server *srv);
int	post_bind_hook(struct pfsd_server *srv);
int	pre_loop_hook(struct pfsd_server *srv);
int	run_n_children_hook(struct pfsd_server *srv, int n);
int	child_init_hook(struct pfsd_server *srv);
int	post_accept_hook(struct pfsd_request *req);
int	allow_deny_hook(struct pfsd_request *req);
int	request_denied_hook(struct pfsd_request *req);
int	post_process_request_hook(struct pfsd_request *req);
int	post_client_connection_hook(struct pfsd_request *req);
int	child_finish_hook(struct pfsd_server *srv);
int	run_dequeue(struct pfsd_server *srv);
int	idle_loop_hook(struct pfsd_server *srv);
int	pre_server_close_hook(struct pfsd_server *srv);

/*
 * Since ABI 1.1 (looked up only in handlers built for 1.1 or later).
 * configure_hook: parent, once the handler is loaded, before
 * post_configure_hook; non-zero refuses the configuration.
 * pre_fork_hook: parent, before each fork; kind is "worker" or "dequeue".
 * register_child: parent, after each fork, with the child's pid.
 * delete_child_hook: parent, a child it started has ended; status as
 * from waitpid(2), -1 when check_for_dead found it gone.
 * other_child_died_hook: parent, reaped a process that was not one of
 * its pool (one the handler started, say).
 * restart_open_hook: the parent re-executed by a HUP, before it takes
 * the listening sockets over; restart_close_hook: the parent, just
 * before that re-exec.  fatal_hook: any process, on a fatal error, with
 * the message, before it is logged and the process exits.
 * write_to_log_hook: every line that passes log_level, in the process
 * that logs it; return 0 when the hook has written it (pfsd writes
 * nothing), non-zero to have pfsd write it as usual.  The return values
 * of the others are ignored.
 */
int	configure_hook(struct pfsd_server *srv);
int	pre_fork_hook(struct pfsd_server *srv, const char *kind);
int	register_child(struct pfsd_server *srv, pid_t pid, const char *kind);
int	delete_child_hook(struct pfsd_server *srv, pid_t pid, int status);
int	other_child_died_hook(struct pfsd_server *srv, pid_t pid, int status);
int	restart_open_hook(struct pfsd_server *srv);
int	restart_close_hook(struct pfsd_server *srv);
int	fatal_hook(struct pfsd_server *srv, const char *msg);
int	write_to_log_hook(struct pfsd_server *srv, int level,
	    const char *msg);

#ifdef __cplusplus
}
#endif

#endif /* PFSD_H */
