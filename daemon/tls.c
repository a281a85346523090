/*
 * tls.c - proto ssl: TLS (OpenSSL 3) in front of a handler that does not
 * know about it.
 *
 * The parent builds one SSL_CTX from the SSL_* keys while it still has its
 * privileges (a key readable by root only works with "user nobody"); every
 * child inherits it with fork(), and with it the session ticket keys, so a
 * client resumes on whichever child accepts it.  -t builds the same
 * context, which is how the HUP check validates renewed files.
 *
 * In the child, after accept: the handshake, bounded by
 * ssl_handshake_timeout (a failure is logged at info and costs nothing but
 * that connection), then a socketpair.  The handler gets one end as
 * stdin/stdout and pfsd_request_fd(); the child's relay thread moves bytes
 * between the other end and the TLS connection.  The request flow around
 * the handler is the plain one: hooks, access rules, the scoreboard and
 * request_timeout (the relay is done before the request ends) see no
 * difference.  When the handler is done and every copy of its end is
 * closed, the main thread takes the connection back, sends what is left,
 * then close_notify.  A handler that calls pfsd_read, pfsd_write or
 * pfsd_shutdown takes the connection back at its first call instead and
 * runs OpenSSL itself from then on (tls_direct): no relay, no copy.
 *
 * The relay thread is made on the child's first TLS connection and kept
 * (a connection costs no clone(), stack or malloc arena of its own); it
 * sleeps in epoll_wait on the current connection's two ends, which the
 * main thread adds and removes, so handing a connection over and back
 * wakes no one (see relay_main).  After a second without TLS it frees
 * the connection's buffers and gives the child's free heap back
 * (malloc_trim), so an idle child holds only what it needs; under load
 * it never does.  When the child idles (child_trim), the thread ends
 * and its stack is unmapped (tls_trim); the next TLS connection makes
 * another.
 */
#include "internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_BUF			16384	/* one TLS record of plaintext */
#define TLS_CLOSE_NOTIFY_MS	1000	/* for close_notify to go out */
#define TLS_TRIM_MS		1000	/* idle this long: give the heap back */
#define RELAY_STACK		(512 * 1024)	/* reserved; a few pages used */
/* Forward secrecy and AEAD only; TLS 1.3 suites are OpenSSL's own. */
#define TLS_DEFAULT_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
				"DHE+CHACHA20"
#define TLS_NEVER_CIPHERS	":!aNULL:!eNULL:!EXPORT:!RC4:!MD5:!DES:!3DES"

#define ENV_TLS_KEYS		"PFSD_TLS_KEYS"	/* the ticket keys' memfd */

struct tls {
	SSL_CTX		*ctx;		/* the first certificate: the default */
	SSL_CTX		**sni;		/* the others, chosen by server name */
	size_t		 nsni;
	int		 handshake_ms;
	int		 keys_fd;	/* memfd of struct tls_keys */
	struct tls_keys	*keys;		/* shared by every process */
};

/*
 * Session ticket keys, in shared memory: made by the first parent, handed
 * to the next one across a HUP's execve(), seen by every child.  The
 * current key encrypts new tickets; the previous one still decrypts (the
 * ticket is then renewed).  Whoever issues a ticket when the current key
 * is older than ssl_ticket_lifetime rotates them, under the lock.
 */
struct tls_key {
	unsigned char	 name[16];
	unsigned char	 aes[32];
	unsigned char	 hmac[32];
	long long	 made;		/* wall clock, seconds */
};

struct tls_keys {
	volatile int	 lock;
	volatile int	 cur;		/* index of the current key */
	struct tls_key	 k[2];
};

/*
 * One connection of a child; kept for the next one, freed by the relay
 * thread when the child is idle.
 */
struct tls_conn {
	SSL		*ssl;
	int		 net;		/* the TCP connection */
	int		 app;		/* the relay's end of the socketpair */
	int		 ktls;		/* kernel TLS both ways: no relay */
	int		 direct;	/* the handler's pfsd_read/write: */
	int		 spill;		/* no relay; the relay's leftovers */
	int		 notified;	/* our close_notify went out */
	const char	*version;
	const char	*cipher;
	char		 sni[256];
	char		 subject[512];
	size_t		 in_off, in_len;
	size_t		 out_off, out_len;
	int		 net_eof;	/* client sent close_notify or FIN */
	int		 app_eof;	/* the handler's end is closed */
	int		 dead;		/* TLS error: stop */
	int		 want;		/* WANT_* from the last step */
	int		 ev_net;	/* epoll events watched; -1: none */
	int		 ev_app;
	/* last, not cleared: only the pages a connection uses are touched */
	unsigned char	 in[TLS_BUF];	/* client to handler */
	unsigned char	 out[TLS_BUF];	/* handler to client */
};

static struct tls_conn	*conn;

/*
 * The child's relay thread and what it shares with the main thread: the
 * connection it relays (cur; NULL once the main thread took it back, in
 * tls_end) and an epoll set of that connection's two ends.
 */
static struct {
	pthread_mutex_t	 mu;
	struct tls_conn	*cur;
	int		 ep;		/* epoll: cur's ends, and efd */
	int		 efd;		/* eventfd: wakes the thread (asleep) */
	int		 started;
	int		 asleep;	/* waiting with no timeout: trimmed */
	int		 inuse;		/* the main thread has conn */
	unsigned long	 conns;		/* connections handed over */
	int		 quit;		/* tls_trim: the thread must end */
	pthread_t	 thread;
	void		*stack;		/* its stack, guard page first */
} rl = { .mu = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP, .ep = -1, .efd = -1,
	.asleep = 1 };

/* ------------------------------------------------------------------ */
/* Configuration (parent, and -t).                                     */

/*
 * Where to blame a key: its last value, or the first ssl port.  The
 * certificate and key files: the pair being loaded (SSL_cert_file and
 * SSL_key_file may be given once per certificate).
 */
struct tls_where {
	struct conf		*c;
	const struct listener	*port;
	size_t			 pair;		/* SSL_cert_file's index */
};

static void	tls_complain(struct tls_where *, int, enum opt_id,
		    const char *, ...) PFSD_PRINTF(4, 5);

static void
tls_complain(struct tls_where *w, int warn, enum opt_id id,
    const char *fmt, ...)
{
	const struct conf_value	*cv = NULL;
	const char		*file, *key;
	char			 msg[ERRBUF_SIZE];
	va_list			 ap;
	int			 line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((id == OPT_SSL_CERT_FILE || id == OPT_SSL_KEY_FILE) &&
	    w->pair < conf_count(w->c, id))
		cv = conf_value_at(w->c, id, w->pair);
	else if (id != OPT_PORT && conf_count(w->c, id) > 0)
		cv = conf_value_at(w->c, id, conf_count(w->c, id) - 1);
	if (cv != NULL) {
		file = cv->file;
		line = cv->line;
		key = conf_options[id].name;
	} else {
		file = w->port->file != NULL ? w->port->file : CONF_CMDLINE_FILE;
		line = w->port->line;
		key = "port";
	}
	if (warn)
		conf_warn(w->c, file, line, key, "%s", msg);
	else
		conf_error(w->c, file, line, key, "%s", msg);
}

/* OpenSSL's reason for the last failure, its queue emptied. */
static const char *
tls_reason(void)
{
	static char	buf[256];
	unsigned long	e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown error";
	ERR_error_string_n(last, buf, sizeof(buf));
	if (ERR_reason_error_string(last) != NULL)
		snprintf(buf, sizeof(buf), "%s", ERR_reason_error_string(last));
	return buf;
}

/* Can we open it?  A clear errno message before OpenSSL's own. */
static int
tls_readable(struct tls_where *w, enum opt_id id, const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		tls_complain(w, 0, id, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Encrypted keys: no prompt on a terminal; they are refused instead. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static void
tls_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm	tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(unreadable date)");
}

/* Not yet valid: an error.  Expired: a warning (clients decide). */
static int
tls_check_dates(struct tls_where *w, SSL_CTX *ctx, const char *path)
{
	X509	*x = SSL_CTX_get0_certificate(ctx);
	char	 when[64];

	if (x == NULL)
		return 0;
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		tls_time(X509_get0_notBefore(x), when, sizeof(when));
		tls_complain(w, 0, OPT_SSL_CERT_FILE, "the certificate in %s "
		    "is not valid before %s", path, when);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		tls_time(X509_get0_notAfter(x), when, sizeof(when));
		tls_complain(w, 1, OPT_SSL_CERT_FILE, "the certificate in %s "
		    "expired on %s", path, when);
	}
	return 0;
}

static int
tls_load_pair(struct tls_where *w, SSL_CTX *ctx)
{
	const char	*cert = conf_at(w->c, OPT_SSL_CERT_FILE, w->pair);
	const char	*key = conf_at(w->c, OPT_SSL_KEY_FILE, w->pair);
	enum opt_id	 keyid = OPT_SSL_KEY_FILE;

	if (cert == NULL) {
		tls_complain(w, 0, OPT_PORT, "%s needs SSL_cert_file",
		    w->port->name);
		return -1;
	}
	if (key == NULL) {	/* the key in the certificate's file */
		key = cert;
		keyid = OPT_SSL_CERT_FILE;
	}
	if (tls_readable(w, OPT_SSL_CERT_FILE, cert) == -1 ||
	    (key != cert && tls_readable(w, keyid, key) == -1))
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_complain(w, 0, OPT_SSL_CERT_FILE, "%s: no PEM certificate "
		    "(%s)", cert, tls_reason());
		return -1;
	}
	/* a mismatch is said below, in plainer words */
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) !=
	    X509_R_KEY_VALUES_MISMATCH) {
		tls_complain(w, 0, keyid, "%s: no usable PEM private key, "
		    "or an encrypted one (%s)", key, tls_reason());
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		tls_complain(w, 0, keyid, "the key in %s does not match the "
		    "certificate in %s", key, cert);
		return -1;
	}
	return tls_check_dates(w, ctx, cert);
}

/* SSL_verify_mode: 0 none, 1 peer, 2 require (the enum's index mod 3). */
static int
tls_verify_mode(const struct conf *c)
{
	return (int)(conf_num(c, OPT_SSL_VERIFY_MODE) % 3);
}

static int
tls_load_ca(struct tls_where *w, SSL_CTX *ctx)
{
	const char		*file = conf_str(w->c, OPT_SSL_CA_FILE);
	const char		*dir = conf_str(w->c, OPT_SSL_CA_PATH);
	STACK_OF(X509_NAME)	*names;
	int			 mode = tls_verify_mode(w->c);

	if (mode == 0)
		return 0;
	if (file == NULL && dir == NULL) {
		tls_complain(w, 0, OPT_SSL_VERIFY_MODE, "%s needs SSL_ca_file "
		    "or SSL_ca_path to check client certificates",
		    conf_str(w->c, OPT_SSL_VERIFY_MODE));
		return -1;
	}
	if ((file != NULL && tls_readable(w, OPT_SSL_CA_FILE, file) == -1) ||
	    (dir != NULL && tls_readable(w, OPT_SSL_CA_PATH, dir) == -1))
		return -1;
	if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1) {
		tls_complain(w, 0, file != NULL ? OPT_SSL_CA_FILE :
		    OPT_SSL_CA_PATH, "no CA certificate in %s (%s)",
		    file != NULL ? file : dir, tls_reason());
		return -1;
	}
	/* Tell clients which CAs we take (the file's; a path lists none). */
	if (file != NULL && (names = SSL_load_client_CA_file(file)) != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	ERR_clear_error();
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (mode == 2 ?
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return 0;
}

static int
tls_protocols(struct tls_where *w, SSL_CTX *ctx)
{
	const char	*list = conf_str(w->c, OPT_SSL_CIPHER_LIST);
	char		 buf[1024];
	int		 min = conf_num(w->c, OPT_SSL_VERSION) == 1 ?
			    TLS1_3_VERSION : TLS1_2_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		tls_complain(w, 0, OPT_SSL_VERSION, "%s", tls_reason());
		return -1;
	}
	if (list == NULL)
		list = TLS_DEFAULT_CIPHERS;
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", list,
	    TLS_NEVER_CIPHERS) >= sizeof(buf)) {
		tls_complain(w, 0, OPT_SSL_CIPHER_LIST, "too long");
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, buf) != 1) {
		ERR_clear_error();
		tls_complain(w, 0, OPT_SSL_CIPHER_LIST, "\"%s\" names no "
		    "usable cipher (NULL, export, RC4, DES and MD5 ciphers "
		    "are never used)", list);
		return -1;
	}
	return 0;
}

static int	tls_lifetime;	/* ssl_ticket_lifetime, seconds */

static void
keys_lock(struct tls_keys *ks)
{
	while (__atomic_exchange_n(&ks->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void
keys_unlock(struct tls_keys *ks)
{
	__atomic_store_n(&ks->lock, 0, __ATOMIC_RELEASE);
}

static int
key_make(struct tls_key *k)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
	    RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -1;
	k->made = (long long)time(NULL);
	return 0;
}

static int
key_use(const struct tls_key *k, unsigned char *iv, EVP_CIPHER_CTX *c,
    EVP_MAC_CTX *h, int enc)
{
	OSSL_PARAM	p[3];

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    UNCONST(k->hmac), sizeof(k->hmac));
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    UNCONST("SHA256"), 0);
	p[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(h, p) != 1)
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) == 1 ? 0 : -1;
	return EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->aes, iv) ==
	    1 ? 0 : -1;
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb: 1 ok, 2 ok and renew, 0 none. */
static int
tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *c, EVP_MAC_CTX *h, int enc)
{
	struct tls_keys	*ks = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct tls_key	 k;
	int		 i, rc = 0;

	keys_lock(ks);
	if (enc && (long long)time(NULL) - ks->k[ks->cur].made >=
	    tls_lifetime && key_make(&ks->k[!ks->cur]) == 0)
		ks->cur = !ks->cur;	/* rotated: the old one decrypts */
	if (enc) {
		k = ks->k[ks->cur];
		rc = 1;
	}
	for (i = 0; !enc && i < 2; i++)
		if (memcmp(name, ks->k[i].name, 16) == 0 &&
		    (long long)time(NULL) - ks->k[i].made < 2 * tls_lifetime) {
			k = ks->k[i];
			rc = i == ks->cur ? 1 : 2;
		}
	keys_unlock(ks);
	if (rc == 0)
		return 0;	/* unknown or too old: a full handshake */
	if (enc) {
		memcpy(name, k.name, sizeof(k.name));
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(
		    EVP_aes_256_cbc())) != 1)
			rc = -1;
	}
	if (rc != -1 && key_use(&k, iv, c, h, enc) == -1)
		rc = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* The keys the previous image handed over, or new ones.  NULL on error. */
static struct tls_keys *
tls_keys(int *fdp)
{
	struct tls_keys	*ks;
	struct stat	 st;
	char		*env = getenv(ENV_TLS_KEYS), *end;
	long		 fd = -1;
	int		 fresh = 0;

	if (env != NULL) {
		fd = strtol(env, &end, 10);
		if (*end != '\0' || fd < 3 || fd > INT_MAX ||
		    fstat((int)fd, &st) == -1 ||
		    st.st_size != (off_t)sizeof(*ks))
			fd = -1;
		unsetenv(ENV_TLS_KEYS);	/* the -t check must not see it */
	}
	if (fd == -1) {
		if ((fd = memfd_create("pfsd-tls-keys", MFD_CLOEXEC)) == -1 ||
		    ftruncate((int)fd, sizeof(*ks)) == -1)
			return NULL;
		fresh = 1;
	}
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	ks = mmap(NULL, sizeof(*ks), PROT_READ | PROT_WRITE, MAP_SHARED,
	    (int)fd, 0);
	if (ks == MAP_FAILED) {
		close((int)fd);
		return NULL;
	}
	if (fresh && key_make(&ks->k[0]) == -1) {
		munmap(ks, sizeof(*ks));
		close((int)fd);
		return NULL;
	}
	*fdp = (int)fd;
	return ks;
}

/* HUP: the ticket keys go across execve() (on), or not after all. */
void
tls_exec(struct pfsd_server *srv, int on)
{
	char	buf[16];

	if (srv->tls == NULL)
		return;
	snprintf(buf, sizeof(buf), "%d", srv->tls->keys_fd);
	if (on)
		setenv(ENV_TLS_KEYS, buf, 1);
	else
		unsetenv(ENV_TLS_KEYS);
	fcntl(srv->tls->keys_fd, F_SETFD, on ? 0 : FD_CLOEXEC);
}

/*
 * Does the kernel have the "tls" ULP?  On a socket not connected, a
 * kernel that has it says ENOTCONN, one that lacks it ENOENT.
 */
static int
ktls_kernel(void)
{
	int	fd, rc, e;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;	/* cannot tell: let OpenSSL try */
	rc = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3);
	e = errno;
	close(fd);
	return rc == 0 || e != ENOENT;
}

static SSL_CTX *
tls_ctx(struct tls_where *w)
{
	static const unsigned char	 sid_ctx[] = "pfsd";
	SSL_CTX				*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_complain(w, 0, OPT_PORT, "SSL_CTX_new: %s", tls_reason());
		return NULL;
	}
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * No chain built per handshake from the CA store: the certificate
	 * file holds the chain (SSL_CTX_use_certificate_chain_file).  Read
	 * ahead: a record and what follows it in one read().
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_read_ahead(ctx, 1);
	/*
	 * Resumption by tickets only: a per-child session cache would only
	 * find the sessions of one child.  The ticket keys are made here, in
	 * the parent, so every child has the same ones.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_timeout(ctx, 2 * tls_lifetime);
	/*
	 * TLS 1.3: one ticket per handshake, not OpenSSL's two; a client
	 * resumes with it and gets a new one each time.  The second cost a
	 * session encoded, encrypted and sent on every full handshake.
	 */
	SSL_CTX_set_num_tickets(ctx, 1);
	/*
	 * ssl_ktls auto: OpenSSL hands the keys to the kernel if it can;
	 * asked only where the kernel has the ULP, else every connection
	 * would try it in vain.
	 */
	if (conf_num(w->c, OPT_SSL_KTLS) == 0 && ktls_kernel())
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	if (tls_load_pair(w, ctx) == -1 || tls_load_ca(w, ctx) == -1 ||
	    tls_protocols(w, ctx) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * One handshake in memory, in the parent: OpenSSL fills its caches of
 * algorithms and curve tables on first use, so done here they are shared
 * with every child (copy on write) instead of being built, and kept, by
 * each child on its first client.
 */
static void
tls_warm_up(SSL_CTX *sctx)
{
	SSL_CTX	*cctx;
	SSL	*s = NULL, *c = NULL;
	BIO	*sb = NULL, *cb = NULL;
	int	 i, sdone = 0, cdone = 0;

	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto out;
	if ((s = SSL_new(sctx)) == NULL || (c = SSL_new(cctx)) == NULL ||
	    BIO_new_bio_pair(&sb, 0, &cb, 0) != 1)
		goto out;
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	sb = cb = NULL;
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (i = 0; i < 20 && !(sdone && cdone); i++) {
		if (!cdone)
			cdone = SSL_do_handshake(c) == 1;
		if (!sdone)
			sdone = SSL_do_handshake(s) == 1;
	}
out:
	SSL_free(s);
	SSL_free(c);
	BIO_free(sb);
	BIO_free(cb);
	SSL_CTX_free(cctx);
	ERR_clear_error();
}

/* One SSL_key_file per SSL_cert_file, or none at all. */
static int
tls_pairs(struct tls_where *w)
{
	size_t	ncert = conf_count(w->c, OPT_SSL_CERT_FILE);
	size_t	nkey = conf_count(w->c, OPT_SSL_KEY_FILE);

	if (ncert == 0 || nkey == 0 || nkey == ncert)
		return 0;
	w->pair = nkey - 1;
	tls_complain(w, 0, OPT_SSL_KEY_FILE, "%zu SSL_key_file for %zu "
	    "SSL_cert_file: give one key per certificate, in the same order "
	    "(or none: each key in its certificate's file)", nkey, ncert);
	w->pair = 0;
	return -1;
}

/* Does the certificate of ctx name this host (SAN DNS, else CN)? */
static int
tls_covers(SSL_CTX *ctx, const char *name)
{
	X509	*x = SSL_CTX_get0_certificate(ctx);

	return x != NULL && X509_check_host(x, name, 0, 0, NULL) == 1;
}

/*
 * The client's server name (SNI) picks the certificate: the first, in
 * the order given, whose names cover it (subjectAltName DNS entries,
 * else the common name; wildcards as browsers match them).  No name, or
 * no certificate for it: the first certificate, as with a single one.
 */
static int
tls_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls	*tls = arg;
	const char	*name;
	size_t		 i;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || tls_covers(tls->ctx, name))
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < tls->nsni; i++)
		if (tls_covers(tls->sni[i], name)) {
			SSL_set_SSL_CTX(ssl, tls->sni[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* A context for each certificate after the first, same settings. */
static int
tls_sni(struct tls_where *w, struct tls *tls)
{
	size_t	n = conf_count(w->c, OPT_SSL_CERT_FILE), i;

	if (n < 2)
		return 0;
	if ((tls->sni = calloc(n - 1, sizeof(*tls->sni))) == NULL)
		fatal("%s: calloc", __func__);
	for (i = 1; i < n; i++) {
		w->pair = i;
		if ((tls->sni[i - 1] = tls_ctx(w)) == NULL) {
			while (--i > 0)
				SSL_CTX_free(tls->sni[i - 1]);
			free(tls->sni);
			tls->sni = NULL;
			return -1;
		}
	}
	tls->nsni = n - 1;
	SSL_CTX_set_tlsext_servername_callback(tls->ctx, tls_servername);
	SSL_CTX_set_tlsext_servername_arg(tls->ctx, tls);
	return 0;
}

/*
 * With an ssl port, build the context from the SSL_* keys.  Problems go
 * to conf_error ("FILE:LINE: key: problem"), an expired certificate to
 * conf_warn.  0, or -1.
 */
int
tls_configure(struct pfsd_server *srv)
{
	struct tls_where	 w;
	SSL_CTX			*ctx;
	size_t			 i;

	w.c = srv->conf;
	w.port = NULL;
	for (i = 0; i < srv->nls && w.port == NULL; i++)
		if (srv->ls[i].tls)
			w.port = &srv->ls[i];
	if (w.port == NULL)
		return 0;
	w.pair = 0;
	tls_lifetime = (int)conf_num(w.c, OPT_SSL_TICKET_LIFETIME);
	if (tls_pairs(&w) == -1 || (ctx = tls_ctx(&w)) == NULL)
		return -1;
	if ((srv->tls = calloc(1, sizeof(*srv->tls))) == NULL)
		fatal("%s: calloc", __func__);
	srv->tls->ctx = ctx;
	if (tls_sni(&w, srv->tls) == -1) {
		SSL_CTX_free(ctx);
		free(srv->tls);
		srv->tls = NULL;
		return -1;
	}
	if ((srv->tls->keys = tls_keys(&srv->tls->keys_fd)) == NULL)
		fatal("TLS session ticket keys");
	SSL_CTX_set_app_data(ctx, srv->tls->keys);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
	for (i = 0; i < srv->tls->nsni; i++) {
		SSL_CTX_set_app_data(srv->tls->sni[i], srv->tls->keys);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(srv->tls->sni[i],
		    tls_ticket_cb);
	}
	tls_warm_up(ctx);
	srv->tls->handshake_ms = (int)conf_num(srv->conf,
	    OPT_SSL_HANDSHAKE_TIMEOUT) * 1000;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The handshake (child).                                              */

static void
tls_log_failure(struct pfsd_request *req, const char *why)
{
	char	peer[128];

	log_escape(peer, sizeof(peer), pfsd_peer_addr(req),
	    strlen(pfsd_peer_addr(req)));
	log_msg(PFSD_LOG_INFO, "TLS handshake with %s port %d on %s failed: "
	    "%s", peer, pfsd_peer_port(req), req->l->name, why);
}

/* SSL_accept with a deadline; NULL on success, else why it failed. */
static const char *
tls_handshake(SSL *ssl, int fd, int ms)
{
	struct pollfd	 pfd;
	long long	 deadline = now_ms() + ms, left;
	int		 rc, e;

	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_accept(ssl)) == 1)
			return NULL;
		e = SSL_get_error(ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				return errno != 0 ? strerror(errno) :
				    "connection closed by the client";
			if (e == SSL_ERROR_ZERO_RETURN)
				return "connection closed by the client";
			return tls_reason();
		}
		pfd.fd = fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		do {
			if ((left = deadline - now_ms()) <= 0)
				return "handshake timed out";
			rc = poll(&pfd, 1, (int)left);
		} while (rc == 0 || (rc == -1 && errno == EINTR));
		if (rc == -1)
			return strerror(errno);
	}
}

static void
tls_copy_names(struct tls_conn *t)
{
	const char	*sni;
	X509		*x;

	t->version = SSL_get_version(t->ssl);
	t->cipher = SSL_get_cipher_name(t->ssl);
	sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(t->sni, sizeof(t->sni), "%s", sni != NULL ? sni : "");
	t->subject[0] = '\0';
	/* Only a certificate that was checked against the CAs. */
	if ((x = SSL_get0_peer_certificate(t->ssl)) != NULL &&
	    SSL_get_verify_result(t->ssl) == X509_V_OK)
		X509_NAME_oneline(X509_get_subject_name(x), t->subject,
		    sizeof(t->subject));
}

static int	 relay_thread(void);
static int	 relay_step(struct tls_conn *);
static void	 relay_watch(struct tls_conn *, int);
static void	 relay_take(struct tls_conn *);
static void	 relay_wait(struct tls_conn *);
static void	 relay_close_notify(struct tls_conn *);

/*
 * The handler's end of a socketpair becomes req->fd.  What the client
 * sent with its Finished (the request, usually) is decrypted into the
 * socketpair here, so the handler finds it at once; the relay thread
 * watches the connection from then on.
 */
static int
tls_start_relay(struct pfsd_request *req, struct tls_conn *t)
{
	uint64_t	one = 1;
	int		sp[2];

	if (relay_thread() == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("TLS relay: socketpair");
		return -1;
	}
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	t->ktls = 0;
	t->net = req->fd;
	t->app = sp[1];
	t->in_len = t->out_len = 0;
	t->ev_net = t->ev_app = -1;
	relay_step(t);
	pthread_mutex_lock(&rl.mu);
	relay_watch(t, 0);
	if (t->dead)
		relay_step(t);	/* over: the handler reads EOF */
	rl.cur = t;
	rl.conns++;
	if (rl.asleep) {	/* the relay thread waits with no timeout */
		rl.asleep = 0;
		if (write(rl.efd, &one, sizeof(one)) == -1)
			log_warn("TLS relay: eventfd");
	}
	pthread_mutex_unlock(&rl.mu);
	req->net_fd = req->fd;
	req->fd = sp[0];
	req->tls = t;
	return 0;
}

/*
 * Kernel TLS both ways (ssl_ktls auto, a kernel with the "tls" ULP, a
 * cipher and version it takes): the handler's descriptor is the socket
 * itself (a duplicate, so that close_notify can still be sent after the
 * request), and no relay runs.  0, or -1 for the relay instead.
 */
static int
tls_start_ktls(struct pfsd_request *req, struct tls_conn *t)
{
	int	fd;

	if (!BIO_get_ktls_send(SSL_get_wbio(t->ssl)) ||
	    !BIO_get_ktls_recv(SSL_get_rbio(t->ssl)) ||
	    (fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	fcntl(fd, F_SETFL, 0);		/* blocking, as a plain client */
	t->ktls = 1;
	t->net = req->fd;
	req->net_fd = req->fd;
	req->fd = fd;
	req->tls = t;
	log_debug("kernel TLS for %s port %d", pfsd_peer_addr(req),
	    pfsd_peer_port(req));
	return 0;
}

/* conn for the main thread, which has it until conn_give(). */
static struct tls_conn *
conn_take(void)
{
	struct tls_conn	*t;

	pthread_mutex_lock(&rl.mu);
	if (conn == NULL && (conn = malloc(sizeof(*conn))) != NULL)
		memset(conn, 0, offsetof(struct tls_conn, in));
	if ((t = conn) != NULL)
		rl.inuse = 1;
	pthread_mutex_unlock(&rl.mu);
	if (t == NULL)
		log_warn("TLS: malloc");
	return t;
}

static void
conn_give(void)
{
	pthread_mutex_lock(&rl.mu);
	rl.inuse = 0;
	pthread_mutex_unlock(&rl.mu);
}

/*
 * The handshake on the connection just accepted into req, then the relay.
 * 0: req->fd is now the handler's plaintext end.  -1: logged; the caller
 * closes req->fd and takes the next client.
 */
int
tls_accept(struct pfsd_server *srv, struct pfsd_request *req)
{
	struct tls_conn	*t;
	const char	*why;

	req->tls = NULL;
	if ((t = conn_take()) == NULL)
		return -1;
	fcntl(req->fd, F_SETFL, O_NONBLOCK);
	if ((t->ssl = SSL_new(srv->tls->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, req->fd) != 1) {
		tls_log_failure(req, tls_reason());
		goto fail;
	}
	if ((why = tls_handshake(t->ssl, req->fd,
	    srv->tls->handshake_ms)) != NULL) {
		tls_log_failure(req, why);
		goto fail;
	}
	tls_copy_names(t);
	t->net_eof = t->app_eof = t->dead = 0;
	t->direct = t->spill = t->notified = 0;
	if (tls_start_ktls(req, t) == 0 || tls_start_relay(req, t) == 0)
		return 0;
fail:
	ERR_clear_error();
	SSL_free(t->ssl);
	t->ssl = NULL;
	conn_give();
	return -1;
}

/*
 * The handler is done and its end is closed (req->fd included): wait for
 * the relay to deliver the rest and close_notify, then close the TCP
 * connection.  req->fd is left -1.
 */
void
tls_end(struct pfsd_request *req)
{
	struct tls_conn	*t = req->tls;

	if (t == NULL)
		return;
	if (t->ktls || t->direct)	/* blocking so far: bounded waits */
		fcntl(t->net, F_SETFL, O_NONBLOCK);
	if (t->ktls)
		relay_close_notify(t);
	else {
		/* the rest is relayed here, the relay thread told to leave it */
		relay_take(t);
		while (!relay_step(t))
			relay_wait(t);
		if (!t->dead)
			relay_close_notify(t);
		else
			SSL_set_quiet_shutdown(t->ssl, 1);
		ERR_clear_error();
	}
	SSL_free(t->ssl);
	t->ssl = NULL;
	close(t->net);
	conn_give();
	req->tls = NULL;
	req->fd = -1;
	req->net_fd = -1;
}

/* ------------------------------------------------------------------ */
/* The relay: the child's thread while the handler runs, then tls_end.  */

#define WANT_NET_IN	0x01
#define WANT_NET_OUT	0x02
#define WANT_APP_IN	0x04
#define WANT_APP_OUT	0x08

static int
ssl_want(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return WANT_NET_IN;
	case SSL_ERROR_WANT_WRITE:
		return WANT_NET_OUT;
	case SSL_ERROR_ZERO_RETURN:
		return -1;
	default:
		return -2;
	}
}

/* Client to handler: decrypt into in[], write it to the app end. */
static int
relay_in(struct tls_conn *t)
{
	ssize_t	n;
	int	rc, w, progress = 0;

	if (t->in_len == 0 && !t->net_eof) {
		ERR_clear_error();
		if ((rc = SSL_read(t->ssl, t->in, sizeof(t->in))) > 0) {
			t->in_off = 0;
			t->in_len = (size_t)rc;
			progress = 1;
		} else if ((w = ssl_want(t->ssl, rc)) > 0)
			t->want |= w;
		else {
			/* EOF from the client: EOF on the handler's stdin */
			t->net_eof = 1;
			t->dead = w == -2;
			shutdown(t->app, SHUT_WR);
			progress = 1;
		}
	}
	if (t->in_len == 0)
		return progress;
	if ((n = write(t->app, t->in + t->in_off, t->in_len)) > 0) {
		t->in_off += (size_t)n;
		t->in_len -= (size_t)n;
		progress = 1;
	} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
		t->want |= WANT_APP_OUT;
	else {
		/* the handler will read no more: drop the rest */
		t->in_len = 0;
		t->net_eof = 1;
		progress = 1;
	}
	return progress;
}

/* Handler to client: read the app end into out[], encrypt it. */
static int
relay_out(struct tls_conn *t)
{
	ssize_t	n;
	int	rc, w, progress = 0;

	if (t->out_len == 0 && !t->app_eof) {
		if ((n = read(t->app, t->out, sizeof(t->out))) > 0) {
			t->out_off = 0;
			t->out_len = (size_t)n;
			progress = 1;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			t->want |= WANT_APP_IN;
		else {
			t->app_eof = 1;
			progress = 1;
		}
	}
	if (t->out_len == 0)
		return progress;
	ERR_clear_error();
	if ((rc = SSL_write(t->ssl, t->out + t->out_off,
	    (int)t->out_len)) > 0) {
		t->out_off += (size_t)rc;
		t->out_len -= (size_t)rc;
		progress = 1;
	} else if ((w = ssl_want(t->ssl, rc)) > 0)
		t->want |= w;
	else
		t->dead = 1;
	return progress;
}

static int
relay_over(const struct tls_conn *t)
{
	return t->dead || (t->app_eof && t->out_len == 0);
}

/*
 * Move what can be moved without blocking; t->want says what to wait
 * for next.  Over (1): the handler's end is closed, so the handler
 * still running sees EOF, or EPIPE, if the client is gone.
 */
static int
relay_step(struct tls_conn *t)
{
	int	progress;

	while (!relay_over(t)) {
		t->want = 0;
		progress = relay_in(t);
		if (!t->dead)
			progress |= relay_out(t);
		if (!progress)
			return 0;
	}
	if (t->app != -1) {
		relay_watch(t, 1);
		close(t->app);
		t->app = -1;
	}
	return 1;
}

/* One end in the epoll set for these events; none: out of it. */
static int
relay_ctl(int fd, int *cur, int events)
{
	struct epoll_event	ev;
	int			op, rc;

	if (events == *cur || (events == 0 && *cur == -1))
		return 0;
	op = events == 0 ? EPOLL_CTL_DEL : *cur == -1 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	memset(&ev, 0, sizeof(ev));
	ev.events = (uint32_t)events;
	ev.data.fd = fd;
	rc = epoll_ctl(rl.ep, op, fd, &ev);
	*cur = events == 0 || rc == -1 ? -1 : events;
	return rc;
}

/*
 * The epoll set watches what t->want says (none: off, or over).  If it
 * cannot (no memory for it), the connection is dropped: nothing would
 * move it.  No log here: the relay thread never calls into the log (a
 * handler's log hook need not be thread-safe).
 */
static void
relay_watch(struct tls_conn *t, int off)
{
	int	w = off || relay_over(t) ? 0 : t->want;

	if (relay_ctl(t->net, &t->ev_net, (w & WANT_NET_IN ? EPOLLIN : 0) |
	    (w & WANT_NET_OUT ? EPOLLOUT : 0)) == -1)
		t->dead = 1;
	if (t->app != -1 && relay_ctl(t->app, &t->ev_app, (w & WANT_APP_IN ?
	    EPOLLIN : 0) | (w & WANT_APP_OUT ? EPOLLOUT : 0)) == -1)
		t->dead = 1;
}

/*
 * The main thread takes the connection from the relay thread (tls_end,
 * tls_direct): out of the epoll set, under the mutex, so that the relay
 * thread is not in the middle of a step.
 */
static void
relay_take(struct tls_conn *t)
{
	pthread_mutex_lock(&rl.mu);
	rl.cur = NULL;
	relay_watch(t, 1);
	pthread_mutex_unlock(&rl.mu);
}

/* tls_end: block until t->want can move. */
static void
relay_wait(struct tls_conn *t)
{
	struct pollfd	pfd[2];

	pfd[0].fd = t->net;
	pfd[0].events = (t->want & WANT_NET_IN ? POLLIN : 0) |
	    (t->want & WANT_NET_OUT ? POLLOUT : 0);
	pfd[1].fd = t->app;
	pfd[1].events = (t->want & WANT_APP_IN ? POLLIN : 0) |
	    (t->want & WANT_APP_OUT ? POLLOUT : 0);
	if (pfd[0].events == 0)
		pfd[0].fd = -1;
	if (pfd[1].events == 0)
		pfd[1].fd = -1;
	if (poll(pfd, 2, -1) == -1 && errno != EINTR)
		t->dead = 1;
}

/* close_notify, given a moment to leave when the socket is full. */
static void
relay_close_notify(struct tls_conn *t)
{
	struct pollfd	pfd;
	long long	deadline = now_ms() + TLS_CLOSE_NOTIFY_MS, left;
	int		rc, w;

	if (t->notified)
		return;		/* pfsd_shutdown sent it */
	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_shutdown(t->ssl)) >= 0) {
			t->notified = 1;
			return;		/* sent; no need to wait for theirs */
		}
		if ((w = ssl_want(t->ssl, rc)) <= 0 ||
		    (left = deadline - now_ms()) <= 0)
			return;
		pfd.fd = t->net;
		pfd.events = w == WANT_NET_IN ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			return;
	}
}

/*
 * The relay thread: it sleeps in epoll_wait until the connection it was
 * handed can move, moves it, and goes back.  Handing a connection over
 * or back costs no wakeup: the main thread changes the epoll set.
 * Once TLS_TRIM_MS passed without a new connection, conn is freed, the
 * child's free heap (what OpenSSL and the relay used) goes back to the
 * kernel and the thread sleeps with no timeout; the next connection's
 * hand-over wakes it (efd) to time the next idle spell.  Under load
 * nothing is trimmed.
 */
static void *
relay_main(void *arg)
{
	struct epoll_event	ev[3];
	unsigned long		seen = 0;
	uint64_t		v;
	int			i, n, timeout = -1, trim;
	struct sched_param	sp;

	/*
	 * SCHED_BATCH: woken by the handler's write, the thread does not
	 * preempt the handler, which often ends its request and takes the
	 * connection back first (one context switch less per connection;
	 * an idle CPU still runs the thread at once).
	 */
	memset(&sp, 0, sizeof(sp));
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	for (;;) {
		n = epoll_wait(rl.ep, ev, 3, timeout);
		trim = 0;
		pthread_mutex_lock(&rl.mu);
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == rl.efd)
				(void)!read(rl.efd, &v, sizeof(v));
		if (rl.quit) {
			pthread_mutex_unlock(&rl.mu);
			break;
		}
		if (n > 0 && rl.cur != NULL && !relay_step(rl.cur)) {
			relay_watch(rl.cur, 0);
			if (rl.cur->dead)
				relay_step(rl.cur);	/* over: app closed */
		}
		if (n == 0 && rl.conns == seen && rl.cur == NULL &&
		    !rl.inuse) {
			free(conn);
			conn = NULL;
			trim = rl.asleep = 1;
		}
		seen = rl.conns;
		timeout = rl.asleep ? -1 : TLS_TRIM_MS;
		pthread_mutex_unlock(&rl.mu);
		if (trim)
			malloc_trim(0);
	}
	return arg;
}

/*
 * The relay thread and its epoll set: once per child, and again after
 * tls_trim.  Its stack is pfsd's own mapping, so that tls_trim can give
 * all of it back (a stack glibc made would stay cached with its pages).
 */
static int
relay_thread(void)
{
	struct epoll_event	ev;
	pthread_attr_t		attr;
	sigset_t		all, old;
	size_t			pg = (size_t)sysconf(_SC_PAGESIZE);
	void			*stack;
	int			rc;

	if (rl.started)
		return 0;
	if (rl.ep == -1 && (rl.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("TLS relay: epoll_create1");
		return -1;
	}
	if (rl.efd == -1) {
		if ((rl.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
			log_warn("TLS relay: eventfd");
			return -1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = rl.efd;
		if (epoll_ctl(rl.ep, EPOLL_CTL_ADD, rl.efd, &ev) == -1) {
			log_warn("TLS relay: epoll_ctl");
			close(rl.efd);
			rl.efd = -1;
			return -1;
		}
	}
	/*
	 * One malloc arena for both threads: a second arena costs an idle
	 * child pages of its own (bench/RESULTS.md).  The relay allocates
	 * little -- the record buffers, while the handler mostly waits in
	 * read() -- so the shared arena's lock is rarely contended.  A
	 * handler's own threads share it too; an operator's
	 * MALLOC_ARENA_MAX (or glibc tunable) is theirs and left alone.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL &&
	    (getenv("GLIBC_TUNABLES") == NULL ||
	    strstr(getenv("GLIBC_TUNABLES"), "arena_max") == NULL))
		mallopt(M_ARENA_MAX, 1);
	stack = mmap(NULL, pg + RELAY_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		log_warn("TLS relay: mmap");
		return -1;
	}
	(void)mprotect(stack, pg, PROT_NONE);	/* the guard */
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, (char *)stack + pg, RELAY_STACK);
	/* signals stay with the main thread: this one blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&rl.thread, &attr, relay_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_msg(PFSD_LOG_ERR, "TLS relay: pthread_create: %s",
		    strerror(rc));
		munmap(stack, pg + RELAY_STACK);
		return -1;
	}
	rl.stack = stack;
	rl.started = 1;
	return 0;
}

/*
 * Child, idle (child_trim): the relay thread ends, and with it its stack
 * and what OpenSSL kept for the thread (its error state); the buffers
 * are freed.  The next TLS connection starts a new thread.
 */
void
tls_trim(void)
{
	uint64_t	one = 1;

	if (!rl.started)
		return;
	pthread_mutex_lock(&rl.mu);
	if (rl.cur != NULL || rl.inuse ||	/* not idle after all */
	    write(rl.efd, &one, sizeof(one)) == -1) {
		pthread_mutex_unlock(&rl.mu);
		return;
	}
	rl.quit = 1;
	free(conn);
	conn = NULL;
	pthread_mutex_unlock(&rl.mu);
	pthread_join(rl.thread, NULL);
	munmap(rl.stack, (size_t)sysconf(_SC_PAGESIZE) + RELAY_STACK);
	rl.stack = NULL;
	rl.started = rl.quit = 0;
	rl.asleep = 1;		/* as at the start: the hand-over wakes it */
}

/* ------------------------------------------------------------------ */
/* The handler's own I/O: pfsd_read, pfsd_write, pfsd_shutdown.        */

/*
 * The first call takes the connection from the relay thread for the
 * rest of the request, as tls_end does.  What the handler wrote to its
 * end before is sent first; what the relay decrypted before (the
 * request that came with the handshake) is read back first (spill).
 * The socket becomes blocking, bounded by SO_RCVTIMEO and SO_SNDTIMEO
 * (api.c): one system call per read or write, where the relay costs two
 * wakeups of a thread and two copies.
 */
static void
tls_direct(struct tls_conn *t)
{
	relay_take(t);
	while (!t->dead && !t->app_eof) {
		t->want = 0;
		if (relay_out(t))
			continue;
		if (!(t->want & (WANT_NET_IN | WANT_NET_OUT)))
			break;		/* the handler's end is empty */
		relay_wait(t);
	}
	fcntl(t->net, F_SETFL, 0);
	t->direct = t->spill = 1;
}

/*
 * A failed SSL_read (reading), SSL_write or SSL_shutdown, as read(2) or
 * write(2) would fail; the client's end is 0 for a read.
 */
static ssize_t
tls_io_failed(struct tls_conn *t, int rc, int reading)
{
	int	e = errno;

	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* a blocking socket: its time limit passed, or a signal */
		errno = e == EINTR ? EINTR : EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		t->net_eof = 1;		/* close_notify, or the bare end */
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		errno = e != 0 ? e : EPIPE;
		break;
	default:
		errno = EPROTO;
		break;
	}
	t->net_eof = t->dead = 1;
	ERR_clear_error();
	return -1;
}

ssize_t
tls_read(struct pfsd_request *req, void *buf, size_t len)
{
	struct tls_conn	*t = req->tls;
	ssize_t		 n;
	int		 rc;

	if (t->ktls || len == 0)
		return read(req->fd, buf, len);
	if (!t->direct)
		tls_direct(t);
	if (t->spill) {
		if ((n = recv(req->fd, buf, len, MSG_DONTWAIT)) >= 0)
			return n;	/* 0: the relay passed on the end */
		t->spill = 0;
	}
	if (t->in_len > 0) {
		n = (ssize_t)(len < t->in_len ? len : t->in_len);
		memcpy(buf, t->in + t->in_off, (size_t)n);
		t->in_off += (size_t)n;
		t->in_len -= (size_t)n;
		return n;
	}
	if (t->net_eof)
		return 0;
	ERR_clear_error();
	if ((rc = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX :
	    (int)len)) > 0)
		return rc;
	return tls_io_failed(t, rc, 1);
}

ssize_t
tls_write(struct pfsd_request *req, const void *buf, size_t len)
{
	struct tls_conn	*t = req->tls;
	int		 rc;

	if (!t->ktls && !t->direct)
		tls_direct(t);
	if (t->dead || t->notified) {
		errno = EPIPE;
		return -1;
	}
	if (t->ktls || len == 0)
		return write(req->fd, buf, len);
	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX :
		    (int)len)) > 0)
			return rc;
		/* a signal: the same record again, as OpenSSL requires */
		if (tls_io_failed(t, rc, 0) == -1 && errno != EINTR)
			break;
	}
	/*
	 * The time limit passed with a record half sent: nothing else can
	 * follow it on the stream, so the connection ends here.
	 */
	if (errno == EAGAIN)
		t->dead = 1;
	return -1;
}

/* close_notify now; the client's bytes can still be read. */
int
tls_shutdown(struct pfsd_request *req)
{
	struct tls_conn	*t = req->tls;
	int		 rc;

	if (!t->ktls && !t->direct)
		tls_direct(t);
	if (t->dead) {
		errno = EPIPE;
		return -1;
	}
	/* a call after EAGAIN sends the alert OpenSSL kept */
	while (!t->notified) {
		ERR_clear_error();
		if ((rc = SSL_shutdown(t->ssl)) >= 0)
			t->notified = 1;
		else if (tls_io_failed(t, rc, 0) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* A name of the connection (TLS_NAME_*) for pfsd_tls_*(); NULL if none. */
const char *
tls_name(const struct tls_conn *t, int what)
{
	switch (what) {
	case TLS_NAME_VERSION:
		return t->version;
	case TLS_NAME_CIPHER:
		return t->cipher;
	case TLS_NAME_SNI:
		return t->sni[0] != '\0' ? t->sni : NULL;
	default:
		return t->subject[0] != '\0' ? t->subject : NULL;
	}
}
