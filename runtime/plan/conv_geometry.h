// Convolution geometry shared by the convolution and pooling steps: the
// shape of a convolution, and the stride-phase layout of its padded planes.
#pragma once

#include <cstdint>

#include "runtime/plan/step_support.h"

namespace cvm {
namespace planning {

// Convolution geometry shared by the convolution steps.

struct ConvShape {
  int64_t n = 0, c = 0, h = 0, w = 0;   // data
  int64_t o = 0, fh = 0, fw = 0;        // filters
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t oh = 0, ow = 0;
  int64_t pixels() const { return oh * ow; }
  // A 1 x 1 filter with strides 1 and no padding: output pixel i reads input
  // pixel i.
  bool pointwise() const { return fh == 1 && fw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

// The stride-phase layout of a padded plane. The plane, padded by (ph, pw),
// is cut into blocks by the residues of its row modulo sh and its column
// modulo sw; block (a, b) holds padded rows a, a + sh, ... and, in each,
// columns b, b + sw, ..., `rs` words per row. An output pixel (oh, ow) then
// reads tap (fh, fw) at a fixed offset from position oh * rs + ow of the
// output grid, whatever the strides and dilations: every tap is one
// contiguous run over the grid. Grid columns ow >= OW are computed and
// dropped. Only the blocks some tap uses are stored.
//
// With `share_gap` (column stride 1 only), a row's right padding is the next
// row's left padding: rs = w + pw instead of w + 2 pw, so that fewer grid
// columns are computed and dropped (stride 1 reads pw columns past either
// edge of a row). The caller's rows then write pw padding values and the w
// values of the row, rs in all (see shared_gap).
struct PhaseGrid {
  int64_t hp = 0, wp = 0, hr = 0, rs = 0, block_words = 0, plane_words = 0, grid = 0;
  int64_t sh = 1, sw = 1;
  bool shared_gap = false;
  std::vector<int> slot;       // block (a, b) -> its place, or -1
  std::vector<int64_t> toff;   // per tap (fh, fw): offset in the plane
  int64_t max_toff = 0;

  int64_t slots = 0;
  int64_t max_row_off = 0;  // largest tap row offset within a block

  PhaseGrid() = default;
  explicit PhaseGrid(const ConvShape& g, bool share_gap = false) : sh(g.sh), sw(g.sw) {
    hp = g.h + 2 * g.ph;
    wp = g.w + 2 * g.pw;
    hr = ceil_div(hp, sh);
    rs = ceil_div(wp, sw);
    // Every output column and every tap offset within a row stays under rs
    // (the grid holds each output row; each tap is a fixed offset inside its
    // block).
    shared_gap = share_gap && sw == 1 && g.pw > 0 && g.ow <= g.w + g.pw &&
                 (g.fw - 1) * g.dw < g.w + g.pw;
    if (shared_gap) rs = g.w + g.pw;
    block_words = hr * rs;
    slot.assign(static_cast<size_t>(sh * sw), -1);
    int used = 0;
    for (int64_t fh = 0; fh < g.fh; ++fh) {
      for (int64_t fw = 0; fw < g.fw; ++fw) {
        const int64_t a = (fh * g.dh) % sh, b = (fw * g.dw) % sw;
        if (slot[static_cast<size_t>(a * sw + b)] < 0) slot[static_cast<size_t>(a * sw + b)] = used++;
      }
    }
    plane_words = used * block_words;
    slots = used;
    max_row_off = ((g.fh - 1) * g.dh) / sh;
    for (int64_t fh = 0; fh < g.fh; ++fh) {
      for (int64_t fw = 0; fw < g.fw; ++fw) {
        const int64_t a = (fh * g.dh) % sh, b = (fw * g.dw) % sw;
        const int64_t off = slot[static_cast<size_t>(a * sw + b)] * block_words +
                            (fh * g.dh) / sh * rs + (fw * g.dw) / sw;
        toff.push_back(off);
        max_toff = std::max(max_toff, off);
      }
    }
    grid = g.oh * rs;
  }

  // Fills one plane: `row(i, dst)` writes padded row i (wp values) to dst.
  // `tmp`: wp values of scratch.
  template <typename T, typename Row>
  void fill(T* out, T pad, T* tmp, const Row& row,
            void (*split)(const int32_t*, int64_t, int64_t, int32_t*, int64_t) = nullptr) const {
    fill_rows(out, pad, tmp, row, 0, hr, block_words, split);
  }

  // Rows [r0, r1) of every block (rows past hr are padding), row r at
  // out + slot * bw + (r - r0) * rs. `split` (the table's split_phases, for
  // 32-bit T) splits a row into all its column phases at once when their
  // blocks are consecutive.
  template <typename T, typename Row>
  void fill_rows(T* out, T pad, T* tmp, const Row& row, int64_t r0, int64_t r1, int64_t bw,
                 void (*split)(const int32_t*, int64_t, int64_t, int32_t*, int64_t) = nullptr)
      const {
    for (int64_t a = 0; a < sh; ++a) {
      bool any = false, consecutive = split != nullptr && sizeof(T) == 4;
      for (int64_t b = 0; b < sw; ++b) {
        const int sl = slot[static_cast<size_t>(a * sw + b)];
        any = any || sl >= 0;
        consecutive = consecutive && sl >= 0 && sl == slot[static_cast<size_t>(a * sw)] + b;
      }
      if (!any) continue;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t i = r * sh + a;
        if (sw == 1) {
          T* dst = out + slot[static_cast<size_t>(a)] * bw + (r - r0) * rs;
          if (i < hp) {
            row(i, dst);
          } else {
            std::fill_n(dst, rs, pad);
          }
          continue;
        }
        if (i < hp) row(i, tmp);
        if (consecutive && i < hp) {
          T* dst = out + slot[static_cast<size_t>(a * sw)] * bw + (r - r0) * rs;
          split(reinterpret_cast<const int32_t*>(tmp), wp, sw, reinterpret_cast<int32_t*>(dst), bw);
          for (int64_t b = 0; b < sw; ++b) {
            const int64_t filled = b < wp ? (wp - b + sw - 1) / sw : 0;
            std::fill(dst + b * bw + filled, dst + b * bw + rs, pad);
          }
          continue;
        }
        for (int64_t b = 0; b < sw; ++b) {
          const int sl = slot[static_cast<size_t>(a * sw + b)];
          if (sl < 0) continue;
          T* dst = out + sl * bw + (r - r0) * rs;
          if (i >= hp) {
            std::fill_n(dst, rs, pad);
            continue;
          }
          int64_t c = 0;
          for (int64_t col = b; col < wp; col += sw) dst[c++] = tmp[col];
          std::fill(dst + c, dst + rs, pad);
        }
      }
    }
  }
};

// Segments of grid positions [p0, p0 + np) that are output pixels.
inline int grid_segments(const PhaseGrid& pg, int64_t ow, int64_t p0, int64_t np,
                  kernels::Segment* out) {
  int count = 0;
  int64_t p = p0;
  const int64_t end = p0 + np;
  while (p < end) {
    const int64_t oh = p / pg.rs, col = p % pg.rs;
    if (col >= ow) {
      p += pg.rs - col;
      continue;
    }
    const int64_t len = std::min(end - p, ow - col);
    const int64_t pix = oh * ow + col;
    if (count > 0 && out[count - 1].out + out[count - 1].len == pix &&
        out[count - 1].offset + out[count - 1].len == p - p0) {
      out[count - 1].len += static_cast<int32_t>(len);
    } else {
      out[count++] = {static_cast<int32_t>(p - p0), static_cast<int32_t>(len), pix};
    }
    p += len;
  }
  return count;
}

}  // namespace planning
}  // namespace cvm
