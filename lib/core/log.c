#include <stdarg.h>
#include <stdio.h>

#include "core/ctx_priv.h"

void k8sha__log(k8sha_ctx *ctx, k8sha_log_level level, const char *module, const char *fmt, ...) {
  char line[1024];
  va_list ap;

  if (!ctx->log || level > ctx->log_level)
    return;
  /* A fixed buffer: log lines are short, and logging must not fail for want of memory. */
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  ctx->log(level, module, line, ctx->log_user_data);
}
