/* A two-buffer worker thread (see pump.h). */
#include "pump.h"

static void *pump_main(void *arg)
{
	struct c2c_pump *p = arg;
	bool ok;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->busy && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->busy)
			break;
		pthread_mutex_unlock(&p->mu);
		ok = p->work(p->arg, p->job, p->len);
		pthread_mutex_lock(&p->mu);
		p->failed |= !ok;
		p->busy = false;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int c2c_pump_start(struct c2c_pump *p, c2c_pump_work work, void *arg)
{
	*p = (struct c2c_pump){ .work = work, .arg = arg };
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&p->cv, NULL) != 0)
		goto out_mutex;
	if (pthread_create(&p->thread, NULL, pump_main, p) != 0)
		goto out_cond;
	return 0;
out_cond:
	pthread_cond_destroy(&p->cv);
out_mutex:
	pthread_mutex_destroy(&p->mu);
	return -1;
}

/* Wait until idle; then hand over a chunk, or tell the worker to quit. */
static bool hand(struct c2c_pump *p, const uint8_t *buf, size_t len, bool quit)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->cv, &p->mu);
	ok = !p->failed;
	if (quit || !ok) {
		p->quit = true;
	} else {
		p->job = buf;
		p->len = len;
		p->busy = true;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return ok;
}

bool c2c_pump_hand(struct c2c_pump *p, const uint8_t *buf, size_t len)
{
	return hand(p, buf, len, false);
}

bool c2c_pump_wait(struct c2c_pump *p)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->cv, &p->mu);
	ok = !p->failed;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

bool c2c_pump_finish(struct c2c_pump *p)
{
	bool ok = hand(p, NULL, 0, true);

	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	return ok;
}
