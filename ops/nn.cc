// The neural-network operators; each lives in ops/nn/.
#include "ops/nn/nn_util.h"

namespace cvm {

void register_nn_ops(OpRegistry& registry) {
  nn::register_dense(registry);
  nn::register_conv2d(registry);
  nn::register_max_pool2d(registry);
  nn::register_upsampling(registry);
}

}  // namespace cvm
