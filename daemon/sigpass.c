/*
 * sigpass.c - sig_passthrough: signals the parent forwards to every
 * child, as Net::Server's register_sig_pass does.  A signal the parent
 * acts on itself (HUP, TTIN...) is forwarded and then handled as usual.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char	*name;
	int		 sig;
} sp_names[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

/* "USR2", "SIGUSR2", "usr2" or "12": the signal, or 0. */
static int
sp_lookup(const char *s)
{
	char	*end;
	long	 n;
	size_t	 i;

	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		return *end == '\0' && n > 0 && n < 65 ? (int)n : 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < nitems(sp_names); i++)
		if (strcasecmp(s, sp_names[i].name) == 0)
			return sp_names[i].sig;
	return 0;
}

/*
 * A signal the parent cannot pass on: KILL and STOP cannot be caught;
 * CHLD is how it learns of its children; the ones the kernel sends a
 * faulting process are no messages.
 */
static const char *
sp_refused(int sig)
{
	switch (sig) {
	case SIGKILL:
	case SIGSTOP:
		return "cannot be caught";
	case SIGCHLD:
		return "tells the parent its children ended";
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		return "stops pfsd, which then stops the children itself";
	case SIGUSR1:
		return "is passed on already (the children reopen the log)";
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
	case SIGTRAP:
	case SIGSYS:
		return "is a fault, not a message";
	default:
		return NULL;
	}
}

/* Parse every sig_passthrough value into set; errors as FILE:LINE. */
int
sigpass_configure(struct conf *c, sigset_t *set)
{
	const struct conf_value	*cv;
	const char		*why;
	char			*copy, *word, *save;
	size_t			 i;
	int			 sig, rc = 0;

	sigemptyset(set);
	for (i = 0; i < conf_count(c, OPT_SIG_PASSTHROUGH); i++) {
		cv = conf_value_at(c, OPT_SIG_PASSTHROUGH, i);
		copy = conf_strdup(cv->str);
		for (word = strtok_r(copy, ", \t", &save); word != NULL;
		    word = strtok_r(NULL, ", \t", &save)) {
			if ((sig = sp_lookup(word)) == 0) {
				conf_error(c, cv->file, cv->line,
				    "sig_passthrough", "\"%s\": not a signal",
				    word);
				rc = -1;
			} else if ((why = sp_refused(sig)) != NULL) {
				conf_error(c, cv->file, cv->line,
				    "sig_passthrough", "\"%s\" %s", word, why);
				rc = -1;
			} else
				sigaddset(set, sig);
		}
		free(copy);
	}
	return rc;
}

/*
 * In a new child: a passed-on signal the child does not handle itself
 * gets its default action, not the parent's handler (whose pipe the
 * child does not have); child_init_hook may install the handler's own.
 */
void
sigpass_child(const sigset_t *set)
{
	struct sigaction	sa;
	int			sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < 65; sig++) {
		if (sigismember(set, sig) != 1)
			continue;
		switch (sig) {
		case SIGHUP: case SIGQUIT: case SIGUSR1: case SIGUSR2:
		case SIGTERM: case SIGINT: case SIGPIPE: case SIGTTIN:
		case SIGTTOU:
			continue;	/* set by child_signals */
		default:
			sigaction(sig, &sa, NULL);
		}
	}
}
