"""Graph capture: a float torch.nn.Module becomes a small list of IR nodes (float semantics,
concrete shapes), with BatchNorm folded into the convolution before it.

torch.fx traces the module; an interpreter runs the traced graph once on the example input so
that every shape (and every Python value computed from shapes, as in a channel shuffle's
view(n, g, c // g, h, w)) is known. Anything outside SUPPORTED stops with QuantizeError naming
the node, its operator and what is supported: never a graph that computes something else.
"""
import operator
from dataclasses import dataclass, field

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from . import capture_more
from .errors import QuantizeError

SUPPORTED = ("Conv2d (any groups, stride, padding, dilation; zero padding), Linear, "
             "BatchNorm2d after a Conv2d, ReLU, ReLU6, Hardtanh, clamp, MaxPool2d, AvgPool2d, "
             "AdaptiveAvgPool2d, mean over axes, tensor + tensor, torch.cat, flatten, "
             "reshape/view, permute/transpose, contiguous, nearest Upsample/interpolate with an "
             "integer scale, Dropout, Identity; BatchNorm2d alone, MaxPool2d with ceil_mode, "
             "x[:, a:b] slices (capture_more.py)")


@dataclass
class IRNode:
    """One operation of the captured graph. `value` names the fx node whose float output this
    node's output equals (used by calibration); shapes exclude the batch axis."""
    name: str
    kind: str
    inputs: list
    shape: tuple
    value: str
    attrs: dict = field(default_factory=dict)


def _describe(node, gm):
    if node.op == "call_module":
        return f"module {type(gm.get_submodule(node.target)).__name__}"
    if node.op == "call_function":
        return f"function {getattr(node.target, '__module__', '') or ''}.{getattr(node.target, '__name__', node.target)}".replace("None.", "")
    if node.op == "call_method":
        return f"method Tensor.{node.target}"
    return f"{node.op} {node.target}"


def _unsupported(node, gm, why=""):
    extra = f" ({why})" if why else ""
    return QuantizeError(f"node '{node.name}' ({_describe(node, gm)}) is not supported{extra}; "
                         f"supported: {SUPPORTED}")


class _Recorder(torch.fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.values = {}

    def run_node(self, n):
        out = super().run_node(n)
        self.values[n.name] = out
        return out


def trace(model):
    """torch.fx.symbolic_trace with an error a user can act on."""
    if not isinstance(model, nn.Module):
        raise QuantizeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    try:
        return torch.fx.symbolic_trace(model)
    except Exception as e:  # fx raises many kinds (TraceError, TypeError, ...)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise QuantizeError(
            f"the model does not trace with torch.fx ({type(e).__name__}: {msg}); data-dependent "
            "control flow (an `if` or loop on tensor values) cannot be captured: write "
            "forward() without it (an `if` on shapes or Python constants is fine)") from None


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _fold_bn(conv, bn):
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn.running_mean is None or not bn.affine:
        raise QuantizeError(f"BatchNorm2d without running statistics or affine parameters cannot be folded")
    inv = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    w = w * inv.view(-1, 1, 1, 1)
    b = (b - bn.running_mean.double()) * inv + bn.bias.detach().double()
    return w, b


class _Lowering:
    def __init__(self, gm, values, batch):
        self.gm, self.values, self.batch = gm, values, batch
        self.nodes = []
        self.tensor_of = {}   # fx node name -> IR node name
        self.folded_bn = {}   # bn fx node name -> IR node name of its convolution
        self.counter = 0

    # -- helpers
    def shape_of(self, fx_name, node):
        v = self.values[fx_name]
        if not isinstance(v, torch.Tensor):
            raise _unsupported(node, self.gm, "its result is not a tensor")
        if v.dim() == 0 or v.shape[0] != self.batch:
            raise _unsupported(node, self.gm, f"its output shape {tuple(v.shape)} does not keep the "
                                              f"batch axis ({self.batch}) first")
        return tuple(v.shape[1:])

    def add(self, kind, inputs, node, attrs=None, value=None):
        name = f"{kind}_{self.counter}"
        self.counter += 1
        value = value or node.name
        ir = IRNode(name, kind, inputs, self.shape_of(value, node), value, attrs or {})
        self.nodes.append(ir)
        self.tensor_of[value] = name
        return name

    def tensor_arg(self, node, arg):
        if isinstance(arg, torch.fx.Node):
            if arg.name in self.tensor_of:
                return self.tensor_of[arg.name]
            if isinstance(self.values.get(arg.name), torch.Tensor):
                raise _unsupported(arg, self.gm, "a tensor that is not computed from the input")
        raise _unsupported(node, self.gm, f"argument {arg!r} is not a tensor computed from the input")

    def const(self, arg):
        """A Python value computed from shapes (ints, tuples)."""
        if isinstance(arg, torch.fx.Node):
            return self.values[arg.name]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.const(a) for a in arg)
        return arg

    def passthrough(self, node, src):
        self.tensor_of[node.name] = self.tensor_arg(node, src)

    # -- the operators
    def conv(self, node, conv, x):
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise _unsupported(node, self.gm, "only numeric zero padding")
        users = list(node.users)
        w = conv.weight.detach().double()
        b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
        value = node.name
        if len(users) == 1 and users[0].op == "call_module" and isinstance(
                self.gm.get_submodule(users[0].target), nn.BatchNorm2d):
            w, b = _fold_bn(conv, self.gm.get_submodule(users[0].target))
            value = users[0].name
        name = self.add("conv", [x], node, dict(
            weight=w, bias=b, stride=_pair(conv.stride), padding=_pair(conv.padding),
            dilation=_pair(conv.dilation), groups=conv.groups), value=value)
        if value != node.name:
            self.folded_bn[value] = name
            self.tensor_of[node.name] = name

    def lower(self):
        gm = self.gm
        outputs = []
        inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise QuantizeError(f"the model must take exactly one tensor input, it takes {len(inputs)}")
        for node in gm.graph.nodes:
            op, target = node.op, node.target
            args = node.args
            if op == "placeholder":
                self.add("input", [], node)
            elif op == "get_attr":
                continue  # a constant: refused where a tensor operator uses it
            elif op == "output":
                out = args[0]
                outs = list(out) if isinstance(out, (tuple, list)) else [out]
                outputs = [self.tensor_arg(node, o) for o in outs]
            elif op == "call_module":
                self.call_module(node, gm.get_submodule(target))
            elif op in ("call_function", "call_method"):
                self.call_function(node)
            else:
                raise _unsupported(node, gm)
        return self.nodes, outputs

    def call_module(self, node, m):
        gm = self.gm
        x_arg = node.args[0] if node.args else None
        if isinstance(m, nn.Conv2d):
            self.conv(node, m, self.tensor_arg(node, x_arg))
        elif isinstance(m, nn.BatchNorm2d):
            if node.name not in self.folded_bn:
                # Not after a Conv2d (capture_more.py): a depthwise 1 x 1 convolution.
                w, b = capture_more.batchnorm_as_depthwise(m)
                self.add("conv", [self.tensor_arg(node, x_arg)], node, dict(
                    weight=w, bias=b, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                    groups=m.num_features))
        elif isinstance(m, nn.Linear):
            x = self.tensor_arg(node, x_arg)
            self.add("linear", [x], node, dict(weight=m.weight.detach().double(),
                                                bias=(m.bias.detach().double() if m.bias is not None
                                                      else torch.zeros(m.out_features, dtype=torch.float64))))
        elif isinstance(m, nn.ReLU):
            self.add("relu", [self.tensor_arg(node, x_arg)], node)
        elif isinstance(m, (nn.ReLU6, nn.Hardtanh)):
            lo, hi = (0.0, 6.0) if isinstance(m, nn.ReLU6) else (m.min_val, m.max_val)
            self.add("clamp", [self.tensor_arg(node, x_arg)], node, dict(lo=lo, hi=hi))
        elif isinstance(m, nn.MaxPool2d):
            self.max_pool(node, x_arg, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode,
                          m.return_indices)
        elif isinstance(m, nn.AvgPool2d):
            self.avg_pool(node, x_arg, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                          m.count_include_pad, m.divisor_override)
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            self.adaptive_avg_pool(node, x_arg, m.output_size)
        elif isinstance(m, nn.Flatten):
            self.reshape(node, x_arg)
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            self.passthrough(node, x_arg)
        elif isinstance(m, nn.Upsample):
            self.upsample(node, x_arg, m.mode)
        else:
            raise _unsupported(node, gm)

    def call_function(self, node):
        gm, t, args, kw = self.gm, node.target, node.args, node.kwargs
        method = node.op == "call_method"
        name = t if method else getattr(t, "__name__", "")
        x_arg = args[0] if args else None
        # Python arithmetic on shapes and sizes (x.shape, x.size(1), c // g): evaluated here,
        # no operator in the graph.
        result = self.values.get(node.name)
        if not isinstance(result, torch.Tensor):
            if isinstance(result, (tuple, list)) and any(isinstance(r, torch.Tensor) for r in result):
                raise _unsupported(node, gm, "an operator with several tensor results")
            if method and t in ("item", "tolist", "numpy", "any", "all"):
                raise _unsupported(node, gm, "a value read from a tensor makes the graph "
                                             "data-dependent")
            return
        if (method and t in ("relu", "relu_")) or (not method and t in (F.relu, torch.relu)):
            self.add("relu", [self.tensor_arg(node, x_arg)], node)
        elif (not method and t in (F.relu6,)):
            self.add("clamp", [self.tensor_arg(node, x_arg)], node, dict(lo=0.0, hi=6.0))
        elif not method and t is F.hardtanh:
            lo = self.const(args[1] if len(args) > 1 else kw.get("min_val", -1.0))
            hi = self.const(args[2] if len(args) > 2 else kw.get("max_val", 1.0))
            self.add("clamp", [self.tensor_arg(node, x_arg)], node, dict(lo=lo, hi=hi))
        elif (method and t in ("clamp", "clip", "clamp_")) or (not method and t in (torch.clamp, torch.clip)):
            lo = self.const(args[1] if len(args) > 1 else kw.get("min"))
            hi = self.const(args[2] if len(args) > 2 else kw.get("max"))
            if isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
                raise _unsupported(node, gm, "tensor bounds")
            self.add("clamp", [self.tensor_arg(node, x_arg)], node, dict(
                lo=float("-inf") if lo is None else float(lo), hi=float("inf") if hi is None else float(hi)))
        elif not method and t in (operator.add, torch.add, operator.iadd) or method and t in ("add", "add_"):
            if len(args) != 2 or kw.get("alpha", 1) != 1:
                raise _unsupported(node, gm, "only tensor + tensor")
            a, b = args
            if not (isinstance(a, torch.fx.Node) and isinstance(b, torch.fx.Node)
                    and isinstance(self.values.get(b.name), torch.Tensor)):
                raise _unsupported(node, gm, "only tensor + tensor, not a constant")
            ta, tb = self.tensor_arg(node, a), self.tensor_arg(node, b)
            if tuple(self.values[a.name].shape) != tuple(self.values[b.name].shape):
                raise _unsupported(node, gm, "only tensors of the same shape")
            self.add("add", [ta, tb], node)
        elif not method and t is torch.cat:
            tensors = args[0] if args else kw["tensors"]
            dim = self.const(args[1] if len(args) > 1 else kw.get("dim", 0))
            ins = [self.tensor_arg(node, a) for a in tensors]
            ndim = self.values[node.name].dim()
            dim = dim + ndim if dim < 0 else dim
            if dim == 0:
                raise _unsupported(node, gm, "concatenation along the batch axis")
            self.add("cat", ins, node, dict(axis=dim))
        elif (not method and t in (torch.flatten, torch.reshape)) or (method and t in ("flatten", "view", "reshape")):
            self.reshape(node, x_arg)
        elif (method and t in ("permute", "transpose")) or (not method and t in (torch.permute, torch.transpose)):
            x = self.tensor_arg(node, x_arg)
            ndim = self.values[x_arg.name].dim()
            rest = [self.const(a) for a in args[1:]]
            if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
                rest = list(rest[0])
            if t in ("transpose", torch.transpose):
                if len(rest) != 2:
                    raise _unsupported(node, gm, "transpose needs two axes")
                axes = list(range(ndim))
                i, j = [r + ndim if r < 0 else r for r in rest]
                axes[i], axes[j] = axes[j], axes[i]
            else:
                axes = [r + ndim if r < 0 else r for r in rest]
            if axes[0] != 0:
                raise _unsupported(node, gm, "moving the batch axis")
            self.add("transpose", [x], node, dict(axes=tuple(axes)))
        elif (method and t in ("contiguous", "clone")) or (not method and t in (F.dropout, torch.clone)):
            self.passthrough(node, x_arg)
        elif not method and t is F.max_pool2d:
            get = lambda i, k, d: self.const(args[i] if len(args) > i else kw.get(k, d))
            k = get(1, "kernel_size", None)
            self.max_pool(node, x_arg, k, get(2, "stride", None) or k, get(3, "padding", 0),
                          get(4, "dilation", 1), get(5, "ceil_mode", False), get(6, "return_indices", False))
        elif not method and t is F.avg_pool2d:
            get = lambda i, k, d: self.const(args[i] if len(args) > i else kw.get(k, d))
            k = get(1, "kernel_size", None)
            self.avg_pool(node, x_arg, k, get(2, "stride", None) or k, get(3, "padding", 0),
                          get(4, "ceil_mode", False), get(5, "count_include_pad", True),
                          get(6, "divisor_override", None))
        elif not method and t is F.adaptive_avg_pool2d:
            self.adaptive_avg_pool(node, x_arg, self.const(args[1] if len(args) > 1 else kw["output_size"]))
        elif (method and t == "mean") or (not method and t is torch.mean):
            x = self.tensor_arg(node, x_arg)
            dims = self.const(args[1] if len(args) > 1 else kw.get("dim"))
            keep = bool(self.const(args[2] if len(args) > 2 else kw.get("keepdim", False)))
            ndim = self.values[x_arg.name].dim()
            if dims is None:
                raise _unsupported(node, gm, "a mean over every axis mixes the batch")
            dims = [dims] if isinstance(dims, int) else list(dims)
            dims = sorted(d + ndim if d < 0 else d for d in dims)
            if 0 in dims:
                raise _unsupported(node, gm, "a mean over the batch axis")
            self.add("mean", [x], node, dict(axes=tuple(dims), keepdims=keep))
        elif not method and t is operator.getitem:
            self.slice(node, x_arg, args[1])
        elif not method and t is F.interpolate:
            self.upsample(node, x_arg, kw.get("mode", args[3] if len(args) > 3 else "nearest"))
        else:
            raise _unsupported(node, gm)

    def reshape(self, node, x_arg):
        self.add("reshape", [self.tensor_arg(node, x_arg)], node)

    def max_pool(self, node, x_arg, k, stride, padding, dilation, ceil_mode, return_indices):
        k, stride, padding, dilation = _pair(k), _pair(stride or k), _pair(padding), _pair(dilation)
        if dilation != (1, 1) or return_indices:
            raise _unsupported(node, self.gm, "only dilation 1, no indices")
        if ceil_mode and not capture_more.ceil_pool_shape_matches(
                self.values[x_arg.name].shape[2:], self.values[node.name].shape[2:], k, stride,
                padding):
            raise _unsupported(node, self.gm, "ceil_mode with a last window in the padding")
        self.add("max_pool", [self.tensor_arg(node, x_arg)], node, dict(
            kernel=k, stride=stride, padding=padding, ceil_mode=bool(ceil_mode)))

    def slice(self, node, x_arg, index):
        x = self.tensor_arg(node, x_arg)
        shape = tuple(self.values[x_arg.name].shape)
        def resolve(v):
            if isinstance(v, slice):
                return slice(self.const(v.start), self.const(v.stop), self.const(v.step))
            if isinstance(v, tuple):
                return tuple(resolve(i) for i in v)
            return self.const(v)
        spec = capture_more.slice_spec(resolve(index), shape)
        if spec is None or spec[0][0] != 0 or spec[1][0] != shape[0]:
            raise _unsupported(node, self.gm, "only slices with step 1 that keep the batch axis")
        self.add("slice", [x], node, dict(begin=spec[0][1:], end=spec[1][1:]))

    def avg_pool(self, node, x_arg, k, stride, padding, ceil_mode, count_include_pad, divisor):
        k, stride, padding = _pair(k), _pair(stride or k), _pair(padding)
        if ceil_mode or (not count_include_pad and padding != (0, 0)) or divisor is not None:
            raise _unsupported(node, self.gm, "only ceil_mode False, count_include_pad True, "
                                              "no divisor_override")
        self.add("avg_pool", [self.tensor_arg(node, x_arg)], node, dict(
            kernel=k, stride=stride, padding=padding))

    def adaptive_avg_pool(self, node, x_arg, output_size):
        x = self.tensor_arg(node, x_arg)
        _, h, w = self.values[x_arg.name].shape[1:]
        oh, ow = _pair(output_size)
        oh, ow = oh or h, ow or w
        if (oh, ow) == (1, 1):
            self.add("mean", [x], node, dict(axes=(2, 3), keepdims=True))
        elif h % oh == 0 and w % ow == 0:
            k = (h // oh, w // ow)
            self.add("avg_pool", [x], node, dict(kernel=k, stride=k, padding=(0, 0)))
        else:
            raise _unsupported(node, self.gm, f"output size {(oh, ow)} does not divide {(h, w)}")

    def upsample(self, node, x_arg, mode):
        x = self.tensor_arg(node, x_arg)
        if mode != "nearest":
            raise _unsupported(node, self.gm, f"mode {mode!r}: only 'nearest'")
        xs, ys = self.values[x_arg.name].shape, self.values[node.name].shape
        sh, sw = ys[2] // xs[2], ys[3] // xs[3]
        if sh != sw or ys[2] != xs[2] * sh or ys[3] != xs[3] * sw or sh < 1:
            raise _unsupported(node, self.gm, "only one integer scale for both axes")
        self.add("upsample", [x], node, dict(scale=int(sh)))


def capture(model, example_input):
    """(fx GraphModule, IR nodes, output IR names) of `model` run on `example_input`."""
    model = model.eval()
    gm = trace(model)
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 2:
        raise QuantizeError("the example input must be a tensor with a batch axis first, "
                            f"got {type(example_input).__name__}")
    rec = _Recorder(gm)
    try:
        with torch.no_grad():
            rec.run(example_input.float())
    except Exception as e:
        raise QuantizeError(f"the traced model fails on the example input of shape "
                            f"{tuple(example_input.shape)}: {type(e).__name__}: {e}") from None
    nodes, outputs = _Lowering(gm, rec.values, example_input.shape[0]).lower()
    if not outputs:
        raise QuantizeError("the model has no tensor output")
    return gm, nodes, outputs
