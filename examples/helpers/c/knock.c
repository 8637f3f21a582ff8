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
 * The per-connection state is the reply tuple in the SDK's encoding (brickwall_state.h,
 * the same bytes as the Rust SDK's and Python's): a family byte (4 or 6), the source and
 * destination addresses, the protocol, the source and destination ports big-endian (14
 * or 38 bytes).
 *
 * Ownership follows the canonical ABI as wit-bindgen-c generates it: the arguments of
 * an export belong to it (free them), its result is freed by the generated post-return
 * function. Only malloc/free of wasi-libc are used; nothing here needs WASI.
 */

#include "brickwall_state.h"
#include "helper_world.h"

#include <stdlib.h>
#include <string.h>

#define PROTO_TCP 6

typedef brickwall_helper_types_conn_tuple_t tuple_t;

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
    uint8_t *s = malloc(BRICKWALL_TUPLE_MAX);
    size_t n = s ? brickwall_tuple_encode(&info->reply, s) : 0;
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
    if (port != 0 && brickwall_tuple_decode(state->ptr, state->len, &reply)) {
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
