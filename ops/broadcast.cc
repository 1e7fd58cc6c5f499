#include "ops/op.h"

namespace cvm {

void register_broadcast_ops(OpRegistry& registry) { (void)registry; }

}  // namespace cvm
