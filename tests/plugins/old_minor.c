/*
 * old_minor.c - test handler built for ABI 1.0 that happens to define
 * functions named like hooks of ABI 1.1: when it was written they were
 * no hooks, so pfsd must not call them.
 */
#include <pfsd.h>

/* The 1.0 descriptor, three members long (see abi_1_0.c). */
struct pfsd_plugin_1_0 {
	unsigned int	 abi_major;
	unsigned int	 abi_minor;
	const char	*name;
};

PFSD_EXPORT const struct pfsd_plugin_1_0 pfsd_plugin = { 1, 0, "old_minor" };

int
register_child(struct pfsd_server *srv, pid_t pid, const char *kind)
{
	(void)srv;
	(void)pid;
	(void)kind;
	return 0;
}

int
write_to_log_hook(struct pfsd_server *srv, int level, const char *msg)
{
	(void)srv;
	(void)level;
	(void)msg;
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
