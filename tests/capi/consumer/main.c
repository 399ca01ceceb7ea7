/* A C program built against an installed ember, as a user would build it. */
#include <stdio.h>

#include "ember.h"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    ember_model* m = NULL;
    if (ember_model_load(argv[1], NULL, &m) != EMBER_OK) {
        fprintf(stderr, "%s\n", ember_last_error());
        return 1;
    }
    char arch[32];
    size_t n = 0;
    ember_status s = ember_model_architecture(m, arch, sizeof arch, &n);
    printf("ember %s (ABI %u): %s\n", ember_version(), ember_abi_version(), s == EMBER_OK ? arch : "?");
    ember_model_free(m);
    return s == EMBER_OK ? 0 : 1;
}
