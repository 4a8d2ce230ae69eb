/* Per-layer timing hooks for model.c, force-included before model.h (-include tc_layer_hooks.h)
 * so that its TC_LAYER_BEGIN/TC_LAYER_END take these definitions instead of the empty defaults.
 *
 * Each hook is one call that reads the tick counter; the ticks of layer i (including the few
 * instructions of the END hook itself) land in tc_layer_ticks[i]. */
#ifndef TC_LAYER_HOOKS_H
#define TC_LAYER_HOOKS_H

#include <stdint.h>

void tc_layer_begin(int index);
void tc_layer_end(int index);

#define TC_LAYER_BEGIN(index) tc_layer_begin(index)
#define TC_LAYER_END(index) tc_layer_end(index)

#endif /* TC_LAYER_HOOKS_H */
