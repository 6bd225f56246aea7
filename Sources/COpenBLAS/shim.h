// Debian's libopenblas-dev provides cblas.h (through the alternatives system) and
// libopenblas.{so,a}; the image build links the static archive.
#include <cblas.h>
