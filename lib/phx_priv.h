/* libphx's own names: used only inside lib/, never by a tool (phx.h is
 * the public face).  Layers, lower never calling higher:
 *   util <- redact <- log <- out <- ndjson, state, run, config, compose
 * (tests/lib-layers.t checks it).  Where a lower layer needs a higher
 * one at run time, the higher registers a hook at phx_init(). */
#ifndef PHX_PRIV_H
#define PHX_PRIV_H

#include <cJSON.h>

/* ---- secrets (redact.c) ---- */
void phx_secrets_from_env(void);           /* *_PASSWORD, *_TOKEN, *_API_KEY, ... */
void phx_secrets_from_config(const cJSON *cfg);

/* ---- logging (log.c) ---- */
void phx_log_setup(void);                  /* PHX_LOG_LEVEL, PHX_LOG_FORMAT */
/* phx_die exits through exit_fn (phx_exit: flushes held records) */
void phx_log_on_die(void (*exit_fn)(int status));

#endif
