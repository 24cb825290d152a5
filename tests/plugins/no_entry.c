/*
** no_entry.c -- a test shared object that is not a lunet plugin: it lacks
** the entry symbol lunet_plugin_init. Loading it must fail with a message
** naming the file and the missing symbol, not crash.
*/
#include <lunet/plugin.h>

LUNET_EXPORT int not_a_plugin(void);

LUNET_EXPORT int not_a_plugin(void) { return LUNET_ABI_MAJOR; }
