// Debian's libopenblas-dev provides cblas.h (through the alternatives system) and
// libopenblas.{so,a}; the image build links the static archive.
#include <cblas.h>

// OpenBLAS starts its worker threads when it is loaded (a constructor), and they spin
// with sched_yield for a while before they sleep. Not in cblas.h; exported by OpenBLAS,
// which starts the threads again on the next BLAS call that needs them.
int blas_thread_shutdown_(void);
