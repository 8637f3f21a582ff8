/*
 * brickwall's per-connection state encoding for helpers in C, the same bytes as the
 * Rust SDK's `Tuple::encode` and the Python module brickwall_state.py: a family byte
 * (4 or 6), the source and destination addresses, the protocol, the source and
 * destination ports big-endian (14 or 38 bytes). Header-only, on the types of the
 * bindings the build step generates (helper_world.h); uses no libc function.
 *
 * `brickwall helper build` puts this header beside helper_world.h.
 */
#ifndef BRICKWALL_STATE_H
#define BRICKWALL_STATE_H

#include "helper_world.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of an encoded IPv6 tuple, the longer form. */
#define BRICKWALL_TUPLE_MAX 38

static inline void brickwall_put_be(uint8_t *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t brickwall_get_be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline size_t brickwall_put_addr(uint8_t *p, const brickwall_helper_types_ip_addr_t *a) {
    if (a->tag == BRICKWALL_HELPER_TYPES_IP_ADDR_V4) {
        brickwall_put_be(p, a->val.v4, 4);
        return 4;
    }
    brickwall_put_be(p, a->val.v6.f0, 8);
    brickwall_put_be(p + 8, a->val.v6.f1, 8);
    return 16;
}

static inline void brickwall_get_addr(const uint8_t *p, size_t len,
                                      brickwall_helper_types_ip_addr_t *a) {
    if (len == 4) {
        a->tag = BRICKWALL_HELPER_TYPES_IP_ADDR_V4;
        a->val.v4 = (uint32_t)brickwall_get_be(p, 4);
    } else {
        a->tag = BRICKWALL_HELPER_TYPES_IP_ADDR_V6;
        a->val.v6.f0 = brickwall_get_be(p, 8);
        a->val.v6.f1 = brickwall_get_be(p + 8, 8);
    }
}

/* Writes `t` to `out` (room for BRICKWALL_TUPLE_MAX bytes); returns the bytes written
 * (14 or 38). */
static inline size_t brickwall_tuple_encode(const brickwall_helper_types_conn_tuple_t *t,
                                            uint8_t *out) {
    size_t n = 0;
    out[n++] = t->src.tag == BRICKWALL_HELPER_TYPES_IP_ADDR_V4 ? 4 : 6;
    n += brickwall_put_addr(out + n, &t->src);
    n += brickwall_put_addr(out + n, &t->dst);
    out[n++] = t->protocol;
    brickwall_put_be(out + n, t->src_port, 2);
    brickwall_put_be(out + n + 2, t->dst_port, 2);
    return n + 4;
}

/* Reads a tuple from the `len` bytes at `p`; returns the bytes it took, 0 when they do
 * not start with one. */
static inline size_t brickwall_tuple_decode(const uint8_t *p, size_t len,
                                            brickwall_helper_types_conn_tuple_t *t) {
    if (len < 1 || (p[0] != 4 && p[0] != 6))
        return 0;
    size_t alen = p[0] == 4 ? 4 : 16;
    size_t need = 1 + 2 * alen + 5;
    if (len < need)
        return 0;
    brickwall_get_addr(p + 1, alen, &t->src);
    brickwall_get_addr(p + 1 + alen, alen, &t->dst);
    const uint8_t *q = p + 1 + 2 * alen;
    t->protocol = q[0];
    t->src_port = (uint16_t)brickwall_get_be(q + 1, 2);
    t->dst_port = (uint16_t)brickwall_get_be(q + 3, 2);
    return need;
}

#endif
