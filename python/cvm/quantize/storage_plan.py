"""A storage plan for a written graph: emit.py gives every node a storage pool of its own
(storage_id = node index), so a model holds every intermediate value at once (resnet50 at
batch 16 and 224 x 224 passes the format's 4 GiB limit). share_storage() assigns pools by
liveness instead, as the reference's own compiler does: walking the nodes in order, a node's
output takes a pool whose last value has been read by every user (the best fitting one, or a
new pool), and the pools of the values it read last are freed only after that, so an output
never shares a pool with its own inputs. Parameters, the input and the graph's outputs keep
pools of their own. A pool's size is the largest value it holds (the runtime sizes it so)."""
import json


def share_storage(symbol_json):
    g = json.loads(symbol_json)
    nodes = g["nodes"]
    shapes = g["attrs"]["shape"][1]
    n = len(nodes)
    if g.get("node_row_ptr", list(range(n + 1))) != list(range(n + 1)):
        raise ValueError("share_storage handles graphs of one output per node")
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
    keep = {h[0] for h in g["heads"]}
    ids = [0] * n
    pool_size = []
    free = []          # pool ids
    for j, nd in enumerate(nodes):
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
        for i in {i[0] for i in nd["inputs"]}:
            if last_use[i] == j and nodes[i]["op"] != "null" and i not in keep:
                free.append(ids[i])
        if nd["op"] != "null" and last_use[j] < 0 and j not in keep:
            free.append(ids[j])   # a value nobody reads
    g["attrs"]["storage_id"] = ["list_int", ids]
    return json.dumps(g, indent=1)
