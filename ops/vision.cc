#include "ops/op.h"

namespace cvm {

void register_vision_ops(OpRegistry& registry) { (void)registry; }

}  // namespace cvm
