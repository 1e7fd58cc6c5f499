/* Runs a CVM model through the C API alone: load, query, infer.
 *
 *   c_api_example MODEL_DIR     (MODEL_DIR holds symbol.json, params.bin,
 *                                input.bin; prints the output bytes' checksum
 *                                and, when MODEL_DIR/output.bin exists,
 *                                whether they match it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvm/c_api.h>

static char *read_all(const char *dir, const char *name, long *size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(*size + 1);
  if (buf && fread(buf, 1, *size, f) != (size_t)*size) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[*size] = '\0';
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 64;
  }
  long graph_len = 0, params_len = 0, input_len = 0, expected_len = 0;
  char *graph = read_all(argv[1], "symbol.json", &graph_len);
  char *params = read_all(argv[1], "params.bin", &params_len);
  char *input = read_all(argv[1], "input.bin", &input_len);
  char *expected = read_all(argv[1], "output.bin", &expected_len);
  if (!graph || !params || !input) {
    fprintf(stderr, "cannot read the model in %s\n", argv[1]);
    return 1;
  }

  void *net = NULL;
  int rc = CVMAPILoadModel(graph, (int)graph_len, params, (int)params_len, &net, 0, 0);
  if (rc != SUCCEED) {
    fprintf(stderr, "load failed (%d): %s\n", rc, CVMAPIGetLastError());
    return rc;
  }
  unsigned long long in_size = 0, out_size = 0, gas = 0, storage = 0;
  char version[64];
  CVMAPIGetInputLength(net, &in_size);
  CVMAPIGetOutputLength(net, &out_size);
  CVMAPIGetGasFromModel(net, &gas);
  CVMAPIGetStorageSize(net, &storage);
  CVMAPIGetVersion(net, version);
  printf("version %s, input %llu bytes, output %llu bytes, gas %llu, storage %llu\n", version,
         in_size, out_size, gas, storage);

  char *output = calloc(out_size ? out_size : 1, 1);
  rc = CVMAPIInference(net, input, (int)input_len, output);
  if (rc != SUCCEED) {
    fprintf(stderr, "inference failed (%d): %s\n", rc, CVMAPIGetLastError());
    return rc;
  }
  unsigned long sum = 0;
  for (unsigned long long i = 0; i < out_size; ++i) sum = sum * 31 + (unsigned char)output[i];
  printf("output checksum %lu\n", sum);
  if (expected) {
    int same = expected_len == (long)out_size && memcmp(expected, output, out_size) == 0;
    printf("matches output.bin: %s\n", same ? "yes" : "no");
    if (!same) return 3;
  }
  CVMAPIFreeModel(net);
  free(graph);
  free(params);
  free(input);
  free(expected);
  free(output);
  return 0;
}
