/*
 * tlsload.c - TLS handshakes per second against one server (bench/tls.sh).
 *
 *	tlsload [-r] -p PORT [-c CLIENTS] [-t SECONDS]
 *
 * CLIENTS threads each loop: connect to 127.0.0.1:PORT, a TLS 1.3
 * handshake (-r: resuming the session the thread's previous connection
 * got), "GET / HTTP/1.0", read to the end, close.  The certificate is not
 * checked: the handshake's cost is what is measured.  Prints
 * "conns=N errors=E resumed=R secs=S rate=N/S".
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static SSL_CTX		*ctx;
static int		 port, resume;
static volatile int	 stop;
static unsigned long	 total, errors, resumed;
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;

static int
dial(void)
{
	struct sockaddr_in	sin;
	int			fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One connection; 0, 1 when it resumed, -1 on error.  *sess updated. */
static int
one(SSL_SESSION **sess)
{
	static const char	 req[] = "GET / HTTP/1.0\r\n\r\n";
	char			 buf[4096];
	SSL			*ssl;
	int			 fd, n, got = 0, rc = -1;

	if ((fd = dial()) == -1)
		return -1;
	if ((ssl = SSL_new(ctx)) == NULL) {
		close(fd);
		return -1;
	}
	SSL_set_fd(ssl, fd);
	if (resume && *sess != NULL)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) == 1 &&
	    SSL_write(ssl, req, sizeof(req) - 1) == (int)sizeof(req) - 1) {
		while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
			got += n;
		if (got > 0)
			rc = SSL_session_reused(ssl) ? 1 : 0;
	}
	if (resume && rc != -1) {
		SSL_SESSION_free(*sess);
		*sess = SSL_get1_session(ssl);	/* the newest ticket */
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
	return rc;
}

static void *
worker(void *arg)
{
	SSL_SESSION	*sess = NULL;
	unsigned long	 n = 0, e = 0, r = 0;
	int		 rc;

	while (!stop) {
		if ((rc = one(&sess)) == -1)
			e++;
		else {
			n++;
			r += (unsigned long)rc;
		}
	}
	SSL_SESSION_free(sess);
	pthread_mutex_lock(&mu);
	total += n;
	errors += e;
	resumed += r;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	*t;
	struct timespec	 a, b;
	double		 secs;
	int		 ch, clients = 32, i, dur = 3;

	while ((ch = getopt(argc, argv, "c:p:rt:")) != -1) {
		switch (ch) {
		case 'c':
			clients = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			resume = 1;
			break;
		case 't':
			dur = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: tlsload [-r] -p PORT "
			    "[-c CLIENTS] [-t SECONDS]\n");
			return 2;
		}
	}
	if (port <= 0 || clients <= 0 || dur <= 0 ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (t = calloc((size_t)clients, sizeof(*t))) == NULL)
		return 2;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < clients; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	sleep((unsigned int)dur);
	stop = 1;
	for (i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec -
	    a.tv_nsec) / 1e9;
	printf("conns=%lu errors=%lu resumed=%lu secs=%.2f rate=%.0f\n",
	    total, errors, resumed, secs, (double)total / secs);
	return 0;
}
