#include <cvm/c_api.h>
#include <stdio.h>
#include <string.h>

/* Loads an invalid graph: the installed library must answer with code 2. */
int main(void) {
  void *net = NULL;
  const char graph[] = "[]";
  int rc = CVMAPILoadModel(graph, (int)strlen(graph), "x", 1, &net, 0, 0);
  printf("%d\n", rc);
  return rc == ERROR_RUNTIME ? 0 : 1;
}
