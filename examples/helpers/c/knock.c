/*
 * The knock example helper in C, on bindings generated from the WIT by brickwall's
 * build step (brickwall_helper_build::c, the wit-bindgen-c crate).
 *
 * A made-up protocol on udp/7777: a datagram from the client (the Original direction)
 * whose payload is ASCII "OPEN <port>" (optionally followed by "\n"; the port decimal,
 * 1..=65535) asks the server to connect back. The helper expects a TCP connection from
 * the server's address (the reply tuple's source), any source port, to the client's
 * address (the reply tuple's destination) and that port. Anything else is accepted and
 * expects nothing.
 *
 * The per-connection state is the reply tuple in the Rust SDK's encoding: a family byte
 * (4 or 6), the source and destination addresses, the protocol, the source and
 * destination ports big-endian (14 or 38 bytes).
 *
 * Ownership follows the canonical ABI as wit-bindgen-c generates it: the arguments of
 * an export belong to it (free them), its result is freed by the generated post-return
 * function. Only malloc/free of wasi-libc are used; nothing here needs WASI.
 */

#include "helper_world.h"

#include <stdlib.h>
#include <string.h>

#define PROTO_TCP 6

typedef brickwall_helper_types_conn_tuple_t tuple_t;
typedef brickwall_helper_types_ip_addr_t addr_t;

static void put_be(uint8_t *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static size_t put_addr(uint8_t *p, const addr_t *a) {
    if (a->tag == BRICKWALL_HELPER_TYPES_IP_ADDR_V4) {
        put_be(p, a->val.v4, 4);
        return 4;
    }
    put_be(p, a->val.v6.f0, 8);
    put_be(p, a->val.v6.f1, 8);
    return 16;
}

static void get_addr(const uint8_t *p, size_t len, addr_t *a) {
    if (len == 4) {
        a->tag = BRICKWALL_HELPER_TYPES_IP_ADDR_V4;
        a->val.v4 = (uint32_t)get_be(p, 4);
    } else {
        a->tag = BRICKWALL_HELPER_TYPES_IP_ADDR_V6;
        a->val.v6.f0 = get_be(p, 8);
        a->val.v6.f1 = get_be(p + 8, 8);
    }
}

/* Reads the state back into a tuple; 0 when it is not one. */
static int decode_tuple(const helper_world_list_u8_t *s, tuple_t *t) {
    if (s->len < 1 || (s->ptr[0] != 4 && s->ptr[0] != 6))
        return 0;
    size_t alen = s->ptr[0] == 4 ? 4 : 16;
    if (s->len < 1 + 2 * alen + 5)
        return 0;
    const uint8_t *p = s->ptr + 1;
    get_addr(p, alen, &t->src);
    get_addr(p + alen, alen, &t->dst);
    p += 2 * alen;
    t->protocol = p[0];
    t->src_port = (uint16_t)get_be(p + 1, 2);
    t->dst_port = (uint16_t)get_be(p + 3, 2);
    return 1;
}

/* The port of "OPEN <port>" (optionally ending in a newline); 0 when it is not one. */
static uint16_t parse_open(const uint8_t *p, size_t len) {
    if (len > 0 && p[len - 1] == '\n')
        len--;
    if (len < 5 || memcmp(p, "OPEN ", 5) != 0)
        return 0;
    p += 5;
    len -= 5;
    if (len < 1 || len > 5)
        return 0;
    uint32_t port = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        port = port * 10 + (uint32_t)(p[i] - '0');
    }
    return port <= 65535 ? (uint16_t)port : 0;
}

void exports_brickwall_helper_helper_assigned(uint32_t conn,
                                              exports_brickwall_helper_helper_conn_info_t *info,
                                              helper_world_list_u8_t *ret) {
    (void)conn;
    const tuple_t *r = &info->reply;
    uint8_t *s = malloc(38);
    size_t n = 0;
    if (s) {
        s[n++] = r->src.tag == BRICKWALL_HELPER_TYPES_IP_ADDR_V4 ? 4 : 6;
        n += put_addr(s + n, &r->src);
        n += put_addr(s + n, &r->dst);
        s[n++] = r->protocol;
        put_be(s + n, r->src_port, 2);
        put_be(s + n + 2, r->dst_port, 2);
        n += 4;
    }
    ret->ptr = s;
    ret->len = n;
    exports_brickwall_helper_helper_conn_info_free(info);
}

void exports_brickwall_helper_helper_on_packet(uint32_t conn,
                                               exports_brickwall_helper_helper_direction_t dir,
                                               exports_brickwall_helper_helper_ct_state_t ct,
                                               uint32_t seq, uint8_t tcp_flags,
                                               helper_world_list_u8_t *state,
                                               helper_world_list_u8_t *payload,
                                               exports_brickwall_helper_helper_packet_result_t *ret) {
    (void)conn;
    (void)ct;
    (void)seq;
    (void)tcp_flags;
    memset(ret, 0, sizeof *ret); /* accept, nothing expected, state kept */
    tuple_t reply;
    uint16_t port = 0;
    if (dir == BRICKWALL_HELPER_TYPES_DIRECTION_ORIGINAL)
        port = parse_open(payload->ptr, payload->len);
    if (port != 0 && decode_tuple(state, &reply)) {
        brickwall_helper_types_expectation_t *e = malloc(sizeof *e);
        if (e) {
            /* From the server (the reply's source), any port, to the client (the
             * reply's destination) at the port asked for. */
            e->tuple = reply;
            e->tuple.protocol = PROTO_TCP;
            e->tuple.src_port = 0;
            e->tuple.dst_port = port;
            e->timeout_s = 0;
            e->class_ = 0;
            e->flags = BRICKWALL_HELPER_TYPES_EXPECT_FLAGS_ANY_SRC_PORT;
            /* Not translated: this helper rewrites no addresses for NAT. */
            e->nat.is_some = false;
            ret->expectations.ptr = e;
            ret->expectations.len = 1;
        }
    }
    helper_world_list_u8_free(state);
    helper_world_list_u8_free(payload);
}

void exports_brickwall_helper_helper_destroyed(uint32_t conn, helper_world_list_u8_t *state) {
    (void)conn;
    helper_world_list_u8_free(state);
}
