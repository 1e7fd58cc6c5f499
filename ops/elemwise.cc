#include "ops/op.h"

namespace cvm {

void register_elemwise_ops(OpRegistry& registry) { (void)registry; }

}  // namespace cvm
