"""The storage plan of a written graph: which storage pool (storage_id) holds each node's value.

A pool per node holds every intermediate value at once (resnet50 at batch 16 and 224 x 224
passes the format's 4 GiB limit), so emit.py assigns pools by liveness, as the reference's own
compiler does: walking the nodes in order, a node's output takes a pool whose last value has
been read by every user (the best fitting one, or a new pool), and the pools of the values it
read last are freed only after that. Rules this keeps, which the runtime verifies or relies on
(graph/graph.cc, and the reference's executor):
- ids are non-negative;
- an operator's output never shares a pool with one of its inputs (the verifier allows that only
  for the reference's in-place operators; none is needed here);
- parameters, the input `data` and the graph's outputs keep pools of their own: parameters are
  written once at load and the input at each inference, and the outputs are read after the last
  node ran.
And one for speed: the pools a convolution or dense reads last are freed only when the run of
element-wise nodes after it ends (the runtime fuses that run into the convolution's step, which
reads its inputs all along, so a node of the run writing there would cut the group).
A pool's size is the largest value it holds (the runtime sizes it so)."""
import json


ELEMENT_WISE = {"cvm_right_shift", "cvm_clip", "clip", "relu", "broadcast_mul", "broadcast_add",
                "broadcast_sub", "elemwise_add", "elemwise_sub"}


def storage_ids(nodes, shapes, heads):
    """The storage id of each node of a graph of one output per node: nodes as in symbol.json
    (each with `op` and `inputs` as [node, output, version]), shapes one per node, heads the node
    index of each output."""
    n = len(nodes)
    size = []
    for s in shapes:
        k = 1
        for d in s:
            k *= int(d)
        size.append(k)
    last_use = [-1] * n
    for j, nd in enumerate(nodes):
        for i in nd["inputs"]:
            last_use[i[0]] = max(last_use[i[0]], j)
    keep = set(heads)
    ids = [0] * n
    pool_size = []
    free = []          # pool ids
    held = []          # freed by the head of an element-wise run, free when the run ends
    prev = -1          # the last operator node
    for j, nd in enumerate(nodes):
        # The runtime fuses a convolution (or dense) and the element-wise nodes that follow
        # it into one step that reads the convolution's inputs throughout: their pools stay
        # taken until that run ends, else a depthwise group would be cut where a node of it
        # writes where the data is.
        if nd["op"] != "null":
            func = nd.get("attrs", {}).get("func_name", "")
            if not (func in ELEMENT_WISE and prev >= 0 and
                    any(i[0] == prev for i in nd["inputs"])):
                free.extend(held)
                held = []
            prev = j
        if nd["op"] == "null" or j in keep:
            ids[j] = len(pool_size)
            pool_size.append(size[j])
        else:
            fits = [p for p in free if pool_size[p] >= size[j]]
            if fits:
                p = min(fits, key=lambda q: pool_size[q])
            elif free:
                p = max(free, key=lambda q: pool_size[q])
                pool_size[p] = size[j]
            else:
                p = len(pool_size)
                pool_size.append(size[j])
            if p in free:
                free.remove(p)
            ids[j] = p
        fusing = nd.get("attrs", {}).get("func_name", "") in ("conv2d", "dense")
        for i in {i[0] for i in nd["inputs"]}:
            if last_use[i] == j and nodes[i]["op"] != "null" and i not in keep:
                (held if fusing else free).append(ids[i])
        if nd["op"] != "null" and last_use[j] < 0 and j not in keep:
            free.append(ids[j])   # a value nobody reads
    return ids


def share_storage(symbol_json):
    """symbol_json (text) with its storage_id replaced by storage_ids(): for a graph written with
    a pool per node (quantize(..., share_storage=False)) or by other tools."""
    g = json.loads(symbol_json)
    n = len(g["nodes"])
    if g.get("node_row_ptr", list(range(n + 1))) != list(range(n + 1)):
        raise ValueError("share_storage handles graphs of one output per node")
    ids = storage_ids(g["nodes"], g["attrs"]["shape"][1], [h[0] for h in g["heads"]])
    g["attrs"]["storage_id"] = ["list_int", ids]
    return json.dumps(g, indent=1)
