/* The stop signal: SIGUSR1 without SA_RESTART, so a lane blocked in a read,
 * a write or a wait returns EINTR when the controller sends it. Only lane
 * threads (and the controller while it runs setup/teardown inline) accept it. */
#include <signal.h>
#include <string.h>

#include "run.h"

static void on_sigusr1(int sig) { (void)sig; }

void signals_install(void)
{
	static int installed;
	if (installed)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigusr1; /* no SA_RESTART: blocked syscalls return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	installed = 1;
}

static void interrupts(int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(how, &s, NULL);
}

void interrupts_unblock(void) { interrupts(SIG_UNBLOCK); }
void interrupts_block(void) { interrupts(SIG_BLOCK); }
