#include "ops/op.h"

namespace cvm {

void register_transform_ops(OpRegistry& registry) { (void)registry; }

}  // namespace cvm
