/* The C API of cvm: the same functions, signatures and return codes as the
 * reference CVM runtime's libcvm.so, so that programs written for it (or
 * dlopening it) work unchanged.
 *
 * Every function returns 0 on success, 1 (ERROR_LOGIC) when the model or
 * input is invalid, 2 (ERROR_RUNTIME) when the runtime itself failed.
 * CVMAPIGetLastError() (an addition) tells why the last call on this thread
 * failed. Nothing is printed. */
#ifndef CVM_C_API_H_
#define CVM_C_API_H_

#ifndef CVM_DLL
#define CVM_DLL __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum { SUCCEED = 0, ERROR_LOGIC = 1, ERROR_RUNTIME = 2 };

/* device_type: 0 CPU, 2 the reference's specification build (same bytes). */
CVM_DLL int CVMAPILoadModel(const char *graph_json, int graph_strlen,
                            const char *param_bytes, int param_strlen,
                            void **net, int device_type, int device_id);
CVM_DLL int CVMAPIFreeModel(void *net);
/* input_len must equal CVMAPIGetInputLength; output_data receives
 * CVMAPIGetOutputLength bytes. */
CVM_DLL int CVMAPIInference(void *net, char *input_data, int input_len,
                            char *output_data);

/* version and method: at most 32 characters plus the terminating NUL. */
CVM_DLL int CVMAPIGetVersion(void *net, char *version);
CVM_DLL int CVMAPIGetPreprocessMethod(void *net, char *method);

CVM_DLL int CVMAPIGetInputLength(void *net, unsigned long long *size);
CVM_DLL int CVMAPIGetOutputLength(void *net, unsigned long long *size);
CVM_DLL int CVMAPIGetInputTypeSize(void *net, unsigned long long *size);
CVM_DLL int CVMAPIGetOutputTypeSize(void *net, unsigned long long *size);

CVM_DLL int CVMAPIGetStorageSize(void *net, unsigned long long *gas);
CVM_DLL int CVMAPIGetGasFromModel(void *net, unsigned long long *gas);
/* graph_json: a NUL-terminated string. */
CVM_DLL int CVMAPIGetGasFromGraphFile(const char *graph_json, unsigned long long *gas);

/* Addition: the message of the last failed call on this thread ("" if none). */
CVM_DLL const char *CVMAPIGetLastError(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CVM_C_API_H_ */
