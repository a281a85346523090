/*
 * internal.h - what the files of daemon/ share; prototypes grouped by the
 * file that defines them.  Plugins see only pfsd.h.
 */
#ifndef PFSD_INTERNAL_H
#define PFSD_INTERNAL_H

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pfsd.h"

#define EXIT_CONFIG		78	/* EX_CONFIG */
#define EXIT_UNAVAILABLE	69	/* EX_UNAVAILABLE */

#define ERRBUF_SIZE		512
#define SCOREBOARD_SLOTS	4160	/* max_servers bound + dequeue room */

/* The listening sockets a parent hands to the image it re-execs into
 * (the rest of what goes across is restart.c's own). */
#define ENV_LISTEN_FDS		"PFSD_LISTEN_FDS"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * A pointer to const, made writable where an interface says const but
 * the callee may write: a request the API hands out as const whose
 * formatted fields are caches filled on first use, a library that takes
 * char * for text it only reads.  -Wcast-qual flags every other cast.
 */
#define UNCONST(p)	((void *)(uintptr_t)(const void *)(p))

/* conf.c */
enum opt_type {
	OPT_T_STR,		/* any text */
	OPT_T_PATH,		/* a file or directory name */
	OPT_T_INT,		/* decimal, within [min, max] */
	OPT_T_FLAG,		/* 0/1, yes/no, true/false, on/off */
	OPT_T_ENUM		/* one of choices, case-insensitive */
};

enum opt_id {
	OPT_CONF_FILE,
	OPT_HANDLER,
	OPT_PLUGIN_DIR,
	OPT_PORT,
	OPT_HOST,
	OPT_PROTO,
	OPT_IPV,
	OPT_LISTEN,
	OPT_MAX_SERVERS,
	OPT_MAX_REQUESTS,
	OPT_MAX_REQUESTS_JITTER,
	OPT_CHECK_FOR_DEAD,
	OPT_MAX_DEQUEUE,
	OPT_CHECK_FOR_DEQUEUE,
	OPT_SERIALIZE,
	OPT_LOCK_FILE,
	OPT_STANDBY_MS,
	OPT_GRACEFUL_TIMEOUT,
	OPT_REQUEST_TIMEOUT,
	OPT_HUP_CHECK_TIMEOUT,
	OPT_USER,
	OPT_GROUP,
	OPT_CHROOT,
	OPT_PID_FILE,
	OPT_BACKGROUND,
	OPT_SETSID,
	OPT_LOG_FILE,
	OPT_LOG_LEVEL,
	OPT_SYSLOG_IDENT,
	OPT_SYSLOG_FACILITY,
	OPT_ALLOW,
	OPT_DENY,
	OPT_CIDR_ALLOW,
	OPT_CIDR_DENY,
	OPT_REVERSE_LOOKUPS,
	OPT_DOUBLE_REVERSE_LOOKUPS,
	OPT_NO_CLIENT_STDOUT,
	OPT_STATUS_SOCKET,
	OPT_PROXY_PROTOCOL,
	OPT_PROXY_ALLOW,
	OPT_PROXY_TIMEOUT,
	OPT_UDP_RECV_LEN,
	OPT_UDP_RECV_FLAGS,
	OPT_SIG_PASSTHROUGH,
	OPT_PROCESS_TITLES,
	OPT_SCHED_POLICY,
	OPT_ACCESS_LOG,
	OPT_ACCESS_LOG_FORMAT,
	OPT_METRICS_LISTEN,
	OPT_METRICS_ALLOW,
	OPT_SSL_CERT_FILE,
	OPT_SSL_KEY_FILE,
	OPT_SSL_CA_FILE,
	OPT_SSL_CA_PATH,
	OPT_SSL_VERIFY_MODE,
	OPT_SSL_CIPHER_LIST,
	OPT_SSL_VERSION,
	OPT_SSL_HANDSHAKE_TIMEOUT,
	OPT_SSL_TICKET_LIFETIME,
	OPT_SSL_KTLS,
	OPT__COUNT
};

struct option_def {
	const char		*name;
	enum opt_type		 type;
	int			 list;		/* takes several values */
	const char		*def;		/* default as text, or NULL */
	long			 min, max;	/* OPT_T_INT bounds */
	const char *const	*choices;	/* OPT_T_ENUM, NULL-ended */
	const char		*help;		/* one line for --help */
};

extern const struct option_def conf_options[OPT__COUNT];

enum conf_level {
	CONF_DEFAULT,
	CONF_FILE,
	CONF_CMDLINE
};

struct conf_value {
	char	*str;
	long	 num;		/* OPT_T_INT, OPT_T_FLAG; 0 otherwise */
	char	*file;		/* "command line" for the command line */
	int	 line;		/* 0 for the command line and defaults */
};

struct conf_item {
	struct conf_value	*v;
	size_t			 n;
	enum conf_level		 level;
};

struct conf_extra {
	char			*key;
	char			*given;		/* as first spelled, for messages */
	struct conf_item	 item;
};

struct conf {
	struct conf_item	 opt[OPT__COUNT];
	struct conf_extra	*extra;		/* keys pfsd does not know */
	size_t			 nextra;
	struct option_def	*hopts;		/* the handler's, if it declares */
	size_t			 nhopts;
	int			 hdeclares;	/* unknown keys are errors */
	int			 unparsed;	/* the file could not be read or
						 * parsed: say nothing that
						 * follows from that */
	char			**errors;	/* "FILE:LINE: key: problem" */
	size_t			 nerrors;
	char			**warnings;
	size_t			 nwarnings;
};

#define CONF_CMDLINE_FILE	"command line"	/* "file" of its settings */

/* What the command line asked for besides settings. */
enum cmd_action {
	CMD_RUN,
	CMD_CHECK,		/* -t */
	CMD_PRINT,		/* -T */
	CMD_HELP,
	CMD_VERSION,
	CMD_STATUS		/* pfsd status */
};

/* What `pfsd status` asks the parent for. */
enum status_format {
	STATUS_TEXT,
	STATUS_JSON,		/* --json */
	STATUS_METRICS,		/* --metrics: Prometheus text format */
	STATUS_WATCH		/* --watch: the text, again every second */
};

struct cmdline {
	enum cmd_action	 action;
	int		 format;	/* status: STATUS_TEXT, --json... */
	char		**keys;		/* settings, in order */
	char		**values;
	size_t		 n;
};

struct conf	*conf_new(void);
void		 conf_free(struct conf *);
int		 conf_set(struct conf *, const char *, const char *,
		    enum conf_level, const char *, int);
void		 conf_error(struct conf *, const char *, int, const char *,
		    const char *, ...) PFSD_PRINTF(5, 6);
void		 conf_warn(struct conf *, const char *, int, const char *,
		    const char *, ...) PFSD_PRINTF(5, 6);
int		 conf_find(const char *);
int		 conf_declare(struct conf *, const struct option_def *, size_t,
		    const struct conf_value *, const char *);
void		 conf_check_unknown(struct conf *);
void		*conf_reallocarray(void *, size_t, size_t);
char		*conf_strdup(const char *);
void		 conf_strings_free(char **, size_t);
const char	*conf_str(const struct conf *, enum opt_id);
long		 conf_num(const struct conf *, enum opt_id);
int		 conf_isset(const struct conf *, enum opt_id);
size_t		 conf_count(const struct conf *, enum opt_id);
const char	*conf_at(const struct conf *, enum opt_id, size_t);
const struct conf_value *conf_value_at(const struct conf *, enum opt_id,
		    size_t);
const struct conf_item *conf_lookup(const struct conf *, const char *);
void		 conf_absolute_paths(struct conf *, const char *);

/* conf.c, for conf_kv.c and conf_print.c */
#define CONF_NAME_MAX	64	/* longer keys get no "did you mean" */
int		 conf_keych(int);
size_t		 conf_key_span(const char *);
const char	*conf_default(enum opt_id);
struct conf_item *conf_extra_find(const struct conf *, const char *);
const struct option_def *conf_hopt_find(const struct conf *, const char *);

/* conf_kv.c */
int		 conf_parse_kv(struct conf *, const char *, const char *);
int		 conf_load_file(struct conf *, const char *);
int		 conf_kv_sep(const char *);

/* conf_print.c */
const char	*conf_suggest(const struct conf *, const char *, int *);
void		 conf_print(const struct conf *, FILE *);
void		 conf_save(const struct conf *, FILE *);
void		 conf_usage(FILE *);
void		 conf_usage_handler(FILE *, const struct conf *, const char *);

/* conf_cmdline.c */
int		 conf_cmdline_parse(struct conf *, int, char **,
		    struct cmdline *);
void		 conf_cmdline_free(struct cmdline *);
int		 conf_load(struct conf *, int, char **, struct cmdline *);
void		 conf_load_instead(const char *);

/* conf_yaml.c */
int		 conf_parse_yaml(struct conf *, const char *, const char *,
		    size_t);

/* util.c */
long long	 now_ms(void);
long long	 now_us(void);
int		 addr_unmap(unsigned char *);
void		 addr_format(const struct sockaddr *, char *, size_t, int *);
int		 all_digits(const char *, size_t);
void		 stack_trim(void);

/* paths.c (built twice: for the build tree and for the installed tree) */
const char	*paths_plugin_dir(void);
const char	*paths_conf_default(void);
const char	*paths_in_jail(const char *, const char *);
void		 paths_set_jail(const char *);
const char	*paths_here(const char *);

/* log.c */
struct log_limit {		/* repeats of one message, counted */
	int		 key;		/* which message (an errno, say) */
	long long	 last_ms;	/* when it was last written */
	unsigned long	 repeats;	/* not written since */
};

void		 log_init(const char *, int);
int		 log_open(const char *, const char *, int, int, char *,
		    size_t);
int		 log_reopen(void);
int		 log_level(void);
void		 log_msg(int, const char *, ...) PFSD_PRINTF(2, 3);
void		 log_vmsg(int, const char *, va_list);
void		 log_warn(const char *, ...) PFSD_PRINTF(1, 2);
void		 log_set_hooks(int (*)(int, const char *),
		    void (*)(const char *));
#define log_warnx(...)	log_msg(PFSD_LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(PFSD_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(PFSD_LOG_DEBUG, __VA_ARGS__)
__attribute__((noreturn))
void		 fatal(const char *, ...) PFSD_PRINTF(1, 2);
__attribute__((noreturn))
void		 fatalx(const char *, ...) PFSD_PRINTF(1, 2);
size_t		 log_escape(char *, size_t, const char *, size_t);
int		 log_open_file(const char *, const char *, int *, char *,
		    size_t);
int		 log_fd(void);
int		 log_created(void);
void		 log_check_conf(struct conf *);
void		 log_jailed(const char *);
int		 log_limited(struct log_limit *, int, int, const char *, ...)
		    PFSD_PRINTF(4, 5);

/* listen.c */
#define PROTO_SSL	3	/* a name only: TCP with TLS (listener.tls) */

struct listen_spec {
	char	host[256];	/* "*", an address or a name; path for unix */
	char	port[64];	/* number or service name; empty for unix */
	int	proto;		/* enum pfsd_proto */
	int	ipv;		/* 4, 6, or 0 for both */
	int	tls;		/* "ssl": proto is PFSD_PROTO_TCP */
};

struct listener {
	int		 fd;
	int		 proto;		/* enum pfsd_proto */
	int		 tls;		/* proto ssl: TCP with TLS */
	int		 family;	/* AF_INET, AF_INET6, AF_UNIX */
	char		*host;		/* numeric address, "*" or a path */
	int		 port;		/* bound port; 0 for unix */
	int		 v6only;
	char		*name;		/* "HOST:PORT/PROTO" or "PATH/unix" */
	int		 inherited;	/* came from the environment */
	int		 made;		/* bound by pfsd, not systemd's: it
					 * does not outlive pfsd (PFSD_LISTEN_FDS
					 * marks it "u") */
	int		 unlink_path;	/* unix: remove the file at exit */
	dev_t		 file_dev;	/* unix: the file bound (0: not */
	ino_t		 file_ino;	/* known), removed only if still it */
	int		 backlog;	/* listen(2), from the listen key */
	struct sockaddr_storage	 addr;	/* what is bound */
	socklen_t	 addrlen;
	char		*file;		/* where it was configured */
	int		 line;
};

int		 listen_configure(struct conf *, struct listener **,
		    size_t *);
char		*listen_name(const char *, int, int, int);
int		 listen_bind_all(struct listener *, size_t, char *, size_t);

void		 listen_note_file(struct listener *);
int		 listen_file_is(const char *, dev_t, ino_t);
void		 listen_close_all(struct listener *, size_t, int);
void		 listen_free(struct listener *, size_t);
void		 listen_print(const struct listener *, size_t, FILE *);
int		 listen_chown(struct listener *, size_t, uid_t, gid_t);
/* socket(2) as listen.c calls it; tests replace it to fake "no IPv6". */
extern int	(*listen_socket_fn)(int, int, int);

/* listen_parse.c */
const char	*listen_proto_name(int);
int		 listen_parse(const char *, const char *, const char *,
		    const char *, struct listen_spec *, char *, size_t);
int		 lp_is_ipv6(const char *);

/* listen_inherit.c */
int		 listen_inherit(struct listener *, size_t, char *, size_t);
int		 listen_inherit_env(struct listener *, size_t, const char *,
		    char *, size_t);
void		 listen_close_unused(void);
char		*listen_env(const struct listener *, size_t);

/* access.c */
struct access;
struct access	*access_configure(struct conf *);
int		 access_empty(const struct access *);
int		 access_check(const struct access *, const struct sockaddr *,
		    const char *, const char *);
int		 access_wants_hostname(const struct access *);
int		 reverse_mode(const struct conf *);	/* 0, 1, 2: double */
void		 access_free(struct access *);
struct cidr_set;
struct cidr_set	*cidr_set_configure(struct conf *, enum opt_id);
int		 cidr_set_match(const struct cidr_set *,
		    const struct sockaddr *);
void		 cidr_set_free(struct cidr_set *);

/* proxy.c */
#define PROXY_V1		1
#define PROXY_V2		2
#define PROXY_HDR_MAX		2048	/* v2 with TLVs; v1 is 107 at most */

struct proxy_hdr {
	int			 version;	/* 1 or 2 */
	int			 local;		/* no client address in it */
	struct sockaddr_storage	 src, dst;
	socklen_t		 srclen, dstlen;
};

int		 proxy_parse(const unsigned char *, size_t, int,
		    struct proxy_hdr *, const char **);
int		 proxy_read(int, int, int, struct proxy_hdr *, char *, size_t);

/* handshake.c */
int		 handshake_hold(int, int);
int		 handshakes_pending(const struct listener *, size_t);

/* compat.c */
void		 compat_check(struct conf *);

/* sigpass.c */
int		 sigpass_configure(struct conf *, sigset_t *);
void		 sigpass_child(const sigset_t *);

/* hooks.c */
void		 hooks_install(struct pfsd_server *);
void		 hooks_server_close(struct pfsd_server *);
void		 hooks_restart_close(struct pfsd_server *);
void		 hooks_child_gone(struct pfsd_server *, pid_t, int, int);

/* plugin.c */
struct plugin {
	void		*handle;
	int		 fd;		/* the private copy, kept for a HUP */
	char		*path;
	const char	*name;
	unsigned int	 abi_major, abi_minor;
	struct option_def *opts;	/* declared options (ABI 1.1) */
	size_t		 nopts;
	int		 declares;	/* it has a (maybe empty) list */
	int	(*process_request)(struct pfsd_request *);
	int	(*post_configure_hook)(struct pfsd_server *);
	int	(*post_bind_hook)(struct pfsd_server *);
	int	(*pre_loop_hook)(struct pfsd_server *);
	int	(*run_n_children_hook)(struct pfsd_server *, int);
	int	(*child_init_hook)(struct pfsd_server *);
	int	(*post_accept_hook)(struct pfsd_request *);
	int	(*allow_deny_hook)(struct pfsd_request *);
	int	(*request_denied_hook)(struct pfsd_request *);
	int	(*post_process_request_hook)(struct pfsd_request *);
	int	(*post_client_connection_hook)(struct pfsd_request *);
	int	(*child_finish_hook)(struct pfsd_server *);
	int	(*run_dequeue)(struct pfsd_server *);
	int	(*idle_loop_hook)(struct pfsd_server *);
	int	(*pre_server_close_hook)(struct pfsd_server *);
	/* ABI 1.1 */
	int	(*configure_hook)(struct pfsd_server *);
	int	(*pre_fork_hook)(struct pfsd_server *, const char *);
	int	(*register_child)(struct pfsd_server *, pid_t, const char *);
	int	(*delete_child_hook)(struct pfsd_server *, pid_t, int);
	int	(*other_child_died_hook)(struct pfsd_server *, pid_t, int);
	int	(*restart_open_hook)(struct pfsd_server *);
	int	(*restart_close_hook)(struct pfsd_server *);
	int	(*fatal_hook)(struct pfsd_server *, const char *);
	int	(*write_to_log_hook)(struct pfsd_server *, int, const char *);
};

extern const char *const plugin_hook_names[];
extern const unsigned int plugin_hook_minors[];
extern const size_t plugin_nhooks;

int		 plugin_path(const struct conf *, char *, size_t);
int		 plugin_load(struct plugin *, const char *, char *, size_t);
void		 plugin_unload(struct plugin *);
void		 plugin_load_instead(int);
int		 plugin_configure(struct conf *, struct plugin *);

/* scoreboard.c */
enum slot_state {
	SLOT_FREE = 0,
	SLOT_STARTING,		/* forked, in child_init_hook */
	SLOT_IDLE,		/* waiting for the accept lock */
	SLOT_ACCEPTING,		/* holds the lock, in accept/poll */
	SLOT_BUSY,		/* serving a client */
	SLOT_RETIRING,		/* told to go, finishing */
	SLOT_DEQUEUE,		/* running run_dequeue */
	SLOT__COUNT
};

#define METRICS_BUCKETS		13	/* request durations, +Inf last */

struct slot {
	volatile pid_t		 pid;
	volatile int		 state;		/* enum slot_state */
	volatile int		 token;		/* TOKEN_*: the pipe token */
	volatile int		 last;		/* serving its last request */
	volatile int		 waiting;	/* counted in standby's waiting */
	unsigned int		 generation;
	char			 handler[32];	/* its name, for the log */
	volatile unsigned long	 served;
	volatile long long	 req_start_ms;	/* monotonic; 0 when idle */
	struct sockaddr_in6	 peer;		/* raw, formatted by readers */
	/* metrics.c: counted by the child, folded in by the parent */
	volatile unsigned long	 denied;
	volatile unsigned long	 hist[METRICS_BUCKETS];
	volatile unsigned long long dur_us;
};

#define TOKEN_WAITING	1	/* in read() on the token pipe */
#define TOKEN_HELD	2

/*
 * standby.c: serialize none's count of the idle children, in the
 * scoreboard, so shared by every generation and kept across a HUP.
 */
struct standby_board {
	volatile int		 waiting;	/* in epoll_wait on the sockets */
	volatile int		 standby;	/* standing by (a futex wait) */
	volatile unsigned int	 seq;		/* the standby futex word */
	volatile int		 watch;		/* the parent looks at the queues */
	volatile int		 away;		/* no parent to wake them: a HUP's
						 * exec; nobody stands by */
	volatile unsigned long	 taken;		/* connections taken, in all */
};

struct scoreboard {
	int		 fd;		/* the memfd, handed over on HUP */
	struct slot	*slots;
	size_t		 nslots;
	volatile int	*retiring;	/* children on their last request */
	struct standby_board *board;
	unsigned long	*last;		/* a bit per slot: see scoreboard.c */
	size_t		 next;		/* parent: where scoreboard_alloc looks */
};

#define LAST_BITS	(8 * sizeof(unsigned long))

int		 scoreboard_init(struct scoreboard *, size_t, int);
int		 scoreboard_alloc(struct scoreboard *);
void		 scoreboard_release(struct scoreboard *, int);
int		 scoreboard_may_retire(struct scoreboard *, int, int);
unsigned long	 scoreboard_take_last(struct scoreboard *, size_t);
void		 scoreboard_peer(const struct slot *, char *, size_t, int *);
const char	*slot_state_name(int);

/* serialize.c */
enum ser_mode {			/* the serialize option's choices */
	SER_FLOCK,
	SER_SEMAPHORE,
	SER_PIPE,
	SER_NONE
};

struct serializer {
	enum ser_mode	 mode;
	char		*lock_path;	/* lock_file, or NULL: anonymous */
	int		 lock_fd;	/* flock: locked by every child */
	int		 ep_fd;		/* none: the child's epoll set */
	int		 lock_dummy;	/* flock: a child's lock_fd once told to go */
	int		 semid;
	int		 pipe_r, pipe_w;
	int		 owner;		/* pid that removes the resources */
};

void		 ser_init(struct serializer *);
int		 ser_wakes_one(const struct serializer *);
void		 ser_interrupt(struct serializer *, struct listener *, size_t,
		    int);
void		 ser_chown(struct serializer *, uid_t, gid_t);
int		 ser_setup(struct serializer *, const struct conf *, size_t,
		    char *, size_t);
struct pollfd;
int		 ser_child_init(struct serializer *, const struct listener *,
		    size_t, char *, size_t);
int		 ser_wait(struct serializer *, struct pollfd *, size_t, int,
		    int *);
int		 ser_poll(struct pollfd *, size_t, int, int *);
void		 ser_detach(struct serializer *, const struct listener *,
		    size_t);
int		 ser_attach(struct serializer *, const struct listener *,
		    size_t);
int		 ser_acquire(struct serializer *, volatile int *);
void		 ser_release(struct serializer *, volatile int *);
void		 ser_audit_token(struct serializer *, int);
void		 ser_cleanup(struct serializer *);
const char	*ser_name(const struct serializer *);

int		 standby_on(const struct pfsd_server *);
int		 standby_enter(struct pfsd_server *, struct pollfd *, int *,
		    volatile sig_atomic_t *);
void		 standby_wait_begin(struct pfsd_server *, struct slot *);
void		 standby_wait_end(struct pfsd_server *, struct slot *);
void		 standby_taken(struct pfsd_server *);
void		 standby_interrupt(struct pfsd_server *);
long long	 standby_due(const struct pfsd_server *);
void		 standby_tick(struct pfsd_server *);
void		 standby_release(struct pfsd_server *);
void		 standby_resume(struct pfsd_server *);

/* A graceful stop: a connection the parent took from the accept queue. */
struct drained {
	int			 fd;
	int			 l;		/* index of its listener */
	socklen_t		 len;
	struct sockaddr_storage	 peer;
};

/* pool.c: the parent's record of each child is private to it. */
#define CHILD_WORKER	0
#define CHILD_DEQUEUE	1
#define CHILD_OLD	2	/* from the generation before a HUP */
#define CHILD__KINDS	3

struct pool_entry;
void		 pool_init(struct scoreboard *);
void		 pool_forked(struct pfsd_server *, pid_t, int, int);
void		 pool_adopt(struct pfsd_server *, const char *);
struct pool_entry *pool_find(pid_t);
void		 pool_remove(struct pool_entry *);
struct pool_entry *pool_next(size_t *);
size_t		 pool_size(void);
size_t		 pool_count(int, int);
void		 pool_note_last(void);
void		 pool_retire(struct pool_entry *);
void		 pool_kill(struct pool_entry *, int);
void		 pool_check_dead(struct pfsd_server *);
pid_t		 pool_pid(const struct pool_entry *);
int		 pool_kind(const struct pool_entry *);
int		 pool_signalled(const struct pool_entry *);
struct slot	*pool_slot(const struct pool_entry *);
long long	 pool_started_ms(const struct pool_entry *);
long long	 pool_killed_ms(const struct pool_entry *);
long long	 pool_retired_ms(const struct pool_entry *);

/* metrics.c */
enum exit_reason {
	EXIT_NORMAL,		/* exit 0: recycled, retired, stopped */
	EXIT_FAILED,		/* another exit status */
	EXIT_CRASHED,		/* a signal of its own doing (SIGSEGV...) */
	EXIT_TIMEOUT,		/* request_timeout, HUP's graceful_timeout */
	EXIT_KILLED,		/* another signal */
	EXIT__COUNT
};

struct metrics {
	unsigned long		 served;
	unsigned long		 denied;
	unsigned long		 hist[METRICS_BUCKETS];
	unsigned long long	 dur_us;
	unsigned long		 exits[EXIT__COUNT];
};

void		 metrics_request(struct slot *, int, unsigned long long);
void		 metrics_child_gone(struct pfsd_server *,
		    const struct pool_entry *, int);
enum exit_reason metrics_exit_reason(const struct pool_entry *, int);
void		 metrics_render(const struct pfsd_server *, FILE *);
void		 metrics_totals(const struct pfsd_server *, struct metrics *);
unsigned long	 metrics_ended(const struct metrics *);
unsigned long	 metrics_errors(const struct metrics *);

/* history.c */
#define RELOAD_OK		0
#define RELOAD_REFUSED		1
#define RELOAD_ROLLED_BACK	2
#define RELOAD__COUNT		3
#define HISTORY_RELOADS		16	/* reloads the status page lists */
#define HISTORY_SECONDS		300	/* the chart: five minutes */

struct reload_event {
	long long	 time;		/* wall clock, seconds */
	unsigned int	 generation;	/* serving after it */
	int		 result;	/* RELOAD_* */
	char		 reason[232];
};

struct history_second {
	unsigned int	 requests;	/* ended in that second */
	unsigned int	 errors;	/* denied, or a child's bad end */
};

void		 history_open(struct pfsd_server *, int);
int		 history_fd(void);
void		 history_save(const struct pfsd_server *);
void		 history_forget(void);
void		 history_reload(int, unsigned int, const char *);
unsigned long	 history_reloads(int);
const char	*history_result_name(int);
const struct reload_event *history_event(size_t);
void		 history_tick(const struct pfsd_server *);
long long	 history_due(void);
size_t		 history_seconds(const struct pfsd_server *,
		    struct history_second *, size_t);

/* accesslog.c */
int		 accesslog_open(const struct conf *, char *, size_t);
int		 accesslog_on(void);
void		 accesslog_chown(uid_t, gid_t);
void		 accesslog_reopen(void);
void		 accesslog_request(struct pfsd_request *, long long, int,
		    int);
void		 accesslog_died(const struct pfsd_server *, const struct slot *,
		    const char *);

/* proctitle.c */
char		**proctitle_init(int, char **);
void		 proctitle_set(const char *, ...) PFSD_PRINTF(1, 2);
void		 proctitle_name(const char *);
void		 proctitle_child(const struct pfsd_server *);
void		 proctitle_busy(const char *, int);
void		 proctitle_idle(void);

/* statuspage.c */
void		 statuspage_render(const struct pfsd_server *, FILE *);

/* metrics_http.c */
struct pollfd;
void		 metrics_http_configure(struct pfsd_server *);
int		 metrics_http_open(struct pfsd_server *, int, char *, size_t);
int		 metrics_http_fd(void);
void		 metrics_http_close(void);
void		 metrics_http_forget(void);
size_t		 metrics_http_pollfds(struct pollfd *, size_t);
long long	 metrics_http_due(void);
void		 metrics_http_events(struct pfsd_server *,
		    const struct pollfd *, size_t);

struct pfsd_server {
	struct conf		*conf;
	struct plugin		 plugin;
	struct listener		*ls;
	size_t			 nls;
	struct access		*acl;
	struct cidr_set		*proxy_allow;	/* proxy_protocol */
	struct cidr_set		*metrics_allow;	/* metrics_listen */
	struct serializer	 ser;
	struct scoreboard	 sb;
	struct tls		*tls;		/* ssl ports: the context */

	/* startup */
	char			**argv;
	char			*exe;		/* absolute path, for re-exec */
	char			*cwd;		/* where we were started */
	unsigned int		 generation;
	int			 reexec;	/* started by a HUP re-exec */
	int			 pidfile_written;
	int			 ready_fd;	/* background: tell the caller */
	int			 janitor_fd;	/* chroot: see daemonize.c */
	struct drained		*drain;		/* graceful stop: see parent.c */
	size_t			 ndrain;
	size_t			 drain_index, drain_step;	/* child's share */

	/* parent */
	long			 max_servers;
	int			 sigpipe[2];
	int			 stopping;	/* 0, or SIGQUIT/SIGTERM */
	long long		 stop_deadline_ms;
	long long		 backoff_ms;	/* current respawn delay */
	long long		 next_spawn_ms;
	long long		 token_audit_ms;	/* pipe: check at */
	struct standby_watch {		/* standby.c, the parent's side */
		int		 on;		/* looking every standby_ms */
		long long	 next_ms;
		long		 queued;	/* at the last look (TCP) */
		int		 other;		/* a UNIX or UDP socket had some */
		unsigned long	 taken;
		int		 unwatched;	/* looks with no child waiting */
		long		 burst;		/* children woken at the last look */
		int		 quiet;		/* looks with nothing to do */
	} standby;
	long long		 last_dead_check_ms;
	long long		 last_dequeue_ms;
	pid_t			 checker;	/* HUP check in flight */
	int			 checker_out;	/* its output (a memfd) */
	long long		 checker_deadline_ms;
	int			 checker_killed;
	char			 reload_status[256];	/* the last HUP's fate */
	int			 status_fd;	/* status_socket, or -1 */
	int			 status_inherited;	/* from before the HUP */
	long long		 status_pause_ms;	/* EMFILE: until */
	int			 hup_pending;
	long long		 start_ms;
	unsigned long		 total_served;
	struct metrics		 metrics;	/* of the children reaped */

	/* child */
	int			 is_child;
	int			 slot;
	unsigned long		 served;
	int			 trim_due;	/* served since child_trim */
	unsigned long		 max_requests;	/* this child's, with jitter */
	int			 done;		/* pfsd_done() */
	pid_t			 ppid;
	int			 devnull;
	int			 memfd_in, memfd_out;	/* UDP stdio */
	int			 dequeue;	/* a dequeue child */
	int			 closing;	/* pre_server_close_hook ran */
	sigset_t		 sigpass;	/* sig_passthrough */
};

/* pfsd_request: one per child, reused for every client. */
struct pfsd_request {
	struct pfsd_server	*srv;
	struct listener		*l;
	int			 fd;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	char			 peer_addr[64];	/* formatted on demand */
	int			 peer_port;
	char			 peer_host[256];
	char			 local_addr[64];
	int			 local_port;
	int			 have_addr;
	int			 have_host;
	int			 have_local;
	char			*dgram;		/* UDP payload */
	size_t			 dgram_len;
	struct sockaddr_storage	 proxy;		/* the balancer, when */
	socklen_t		 proxylen;	/* a PROXY header came */
	char			 proxy_addr[64];
	int			 allowed;	/* passed allow/deny */
	struct tls_conn		*tls;		/* ssl: fd is the relay's */
	int			 net_fd;	/* ssl: the TCP connection */
	int			 rcv_ms;	/* pfsd_read's limit as set; */
	int			 snd_ms;	/* -1: not set this request */
};

/* api.c */
struct addrinfo;
/* the resolver as api.c calls it; tests replace it to fake DNS */
extern int	(*api_getnameinfo_fn)(const struct sockaddr *, socklen_t,
		    char *, socklen_t, char *, socklen_t, int);
extern int	(*api_getaddrinfo_fn)(const char *, const char *,
		    const struct addrinfo *, struct addrinfo **);

/* parent.c */
int		 parent_main(struct pfsd_server *);

/* restart.c */
void		 restart_init(struct pfsd_server *);
const char	*restart_exe(void);
const char	*restart_listen_fds(void);
int		 restart_status_fd(void);
int		 restart_metrics_fd(void);
int		 restart_held(const char *);
int		 restart_scoreboard_fd(void);
void		 restart_retire_old(struct pfsd_server *);
void		 restart_begin(struct pfsd_server *);
void		 restart_cancel(struct pfsd_server *, const char *);
long long	 restart_due(struct pfsd_server *);
void		 restart_timer(struct pfsd_server *);
void		 restart_checked(struct pfsd_server *, int);
int		 restart_can_roll_back(struct pfsd_server *);
void		 restart_rollback(struct pfsd_server *, const char *,
		    const char *);
void		 restart_commit(struct pfsd_server *);

/* check.c */
void		 check_world(struct pfsd_server *);

/* watchdog.c */
long long	 watchdog_due(struct pfsd_server *);
void		 watchdog(struct pfsd_server *);

/* status.c */
int		 status_open(struct pfsd_server *, int, char *, size_t);
void		 status_drop(int);
void		 status_serve(struct pfsd_server *);
void		 status_close(struct pfsd_server *);
int		 status_client(struct conf *, enum status_format);
void		 status_default_conf(struct conf *);

/* child.c */
#define CHILD_EXIT_INIT		3	/* could not start: see parent.c */
#define CHILD_TRIM_MS		1000	/* idle this long after a request */
void		 child_trim(struct pfsd_server *);
__attribute__((noreturn))
void		 child_main(struct pfsd_server *, int);
__attribute__((noreturn))
void		 dequeue_main(struct pfsd_server *, int);
__attribute__((noreturn))
void		 drain_main(struct pfsd_server *, int);

/* tls.c */
struct tls;
struct tls_conn;
int		 tls_configure(struct pfsd_server *);
int		 tls_accept(struct pfsd_server *, struct pfsd_request *);
void		 tls_end(struct pfsd_request *);
void		 tls_exec(struct pfsd_server *, int);
#define TLS_NAME_VERSION	0
#define TLS_NAME_CIPHER		1
#define TLS_NAME_SNI		2
#define TLS_NAME_SUBJECT	3
const char	*tls_name(const struct tls_conn *, int);
ssize_t		 tls_read(struct pfsd_request *, void *, size_t);
ssize_t		 tls_write(struct pfsd_request *, const void *, size_t);
int		 tls_shutdown(struct pfsd_request *);
void		 tls_trim(void);

/* daemonize.c */
int		 daemon_background(struct pfsd_server *, char *, size_t);
void		 daemon_detach(struct pfsd_server *);
void		 daemon_ready(struct pfsd_server *);
void		 daemon_failed(struct pfsd_server *, int, const char *);
int		 privs_drop(struct pfsd_server *, char *, size_t);
void		 chroot_check_conf(struct pfsd_server *);

/* pidfile.c */
int		 pidfile_read(const char *, long *);
int		 pidfile_check(const char *, char *, size_t);
int		 pidfile_write(const char *, char *, size_t);
void		 pidfile_remove(const char *);

/* notify.c */
void		 notify_open(void);
void		 notify_send(const char *);
void		 notify_status(struct pfsd_server *, int);

#endif /* PFSD_INTERNAL_H */
