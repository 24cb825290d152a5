/*
** old_abi.c -- a test plugin as ABI 1.2 built it, from before the 2.0
** redesign.
**
** Its descriptor claims abi_major = 1, abi_minor = 2. The host must refuse
** it at load time with a message naming the file, both versions and what to
** do (rebuild it, after the README's "Porting a plugin from ABI 1"). The
** descriptor is written by hand: the first three fields (size, abi_major,
** abi_minor) lie at the same offsets in every ABI, and they are all the host
** reads before it refuses. The rest is left empty: ABI 1 tables do not fit
** this header, and nothing may call into them.
*/
#include <lunet/plugin.h>

static const lunet_plugin plugin = {
  .size = sizeof(lunet_plugin),
  .abi_major = 1, /* the point of this plugin */
  .abi_minor = 2,
  .kind = LUNET_LAYER,
  .name = "old_abi",
  .version = "1.0.0",
  .summary = "test plugin: a layer built for ABI 1.2",
};

const lunet_plugin *lunet_plugin_init(const lunet_host *h) {
  (void)h;
  return &plugin;
}
