#ifndef C_LABORATORY_SSL_SHIM_H
#define C_LABORATORY_SSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/// `BIO_get_mem_data` is a macro; Swift cannot call it directly.
static inline long CLaboratorySSL_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// `EVP_PKEY_PUBLIC_KEY` is a compound macro; Swift cannot import it.
static inline int CLaboratorySSL_EVP_PKEY_PUBLIC_KEY(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

#endif
