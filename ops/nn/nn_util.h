// Shared pieces of the neural-network operators (dense, conv2d, max_pool2d,
// upsampling): the reference's shape-rule helpers and their error classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace cvm {
namespace nn {

// Checks a declared input shape against the one the shape rule infers, the
// way the reference assigns input shapes: same rank, and each dimension equal
// unless the inferred one is 0 (unknown). A mismatch is a runtime-class error
// (code 2), as the reference raises it with LOG(FATAL).
void assign_input_shape(const Shape& declared, const Shape& inferred,
                        const std::string& op_name, const char* input_name);

// Fails with code 1 when an input precision is unset (-1).
void verify_input_precisions(const std::vector<int>& prec, const std::string& op_name);

// Bits needed to add `count` values: the position of its highest set bit
// (0 for 0); the reference adds it to the operand precisions of a sum.
int reduce_sum_bits(int64_t count);

// Validates a layout string with the reference's layout grammar (upper-case
// dimensions, lower-case split dimensions preceded by their factor, each at
// most once, every split dimension's parent present). "__undef__" is the
// undefined layout. A malformed layout is a runtime-class error (code 2).
void check_layout_syntax(const std::string& layout);

void register_dense(OpRegistry& registry);
void register_conv2d(OpRegistry& registry);
void register_max_pool2d(OpRegistry& registry);
void register_upsampling(OpRegistry& registry);

}  // namespace nn
}  // namespace cvm
