// Hashes (FNV-1a) every vector kernel's outputs on fixed pseudo-random inputs, at each kernel level this CPU runs
// (3: AVX-512, 2: AVX2): the LSTM (with and without peepholes, clip, external dh), GRU and RNN (tanh, ReLU) steps
// forward and backward over seven (batch, hidden) shapes with tails, the soft window forward and backward over four
// (batch, K, U, V), and qk_tanh/qk_sigmoid over 1,003 values. run.sh compares two trees' digests: a refactor that
// keeps them keeps every bit. Digests differ between CPU vendors at level 2 (rcpps is not exactly specified), so
// compare on one machine only.
#include "QuillKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
static uint64_t h_ = 1469598103934665603ull;
static void mix(const float *p, size_t n) { const unsigned char *b = (const unsigned char *)p; for (size_t i = 0; i < n * 4; i++) { h_ ^= b[i]; h_ *= 1099511628211ull; } }
static uint32_t s_ = 12345;
static float rnd(void) { s_ = s_ * 1664525u + 1013904223u; return ((s_ >> 8) / 16777216.0f) * 2 - 1; }
static float *arr(size_t n, float sc) { float *p = malloc(n * 4 + 64); for (size_t i = 0; i < n; i++) p[i] = rnd() * sc; return p; }
static void run(int B, int H) {
  for (int cell = 0; cell < 4; cell++) {
    int gates = cell == 0 ? 4 : cell == 1 ? 3 : 1;
    float *wh = arr((size_t)H * gates * H, 0.1f);
    size_t pc = qk_recurrent_packed_count(gates, H);
    float *pf = aligned_alloc(64, ((pc * 4 + 63) / 64) * 64), *pb = aligned_alloc(64, ((pc * 4 + 63) / 64) * 64);
    qk_recurrent_pack_forward(wh, gates, H, pf); qk_recurrent_pack_backward(wh, gates, H, pb);
    size_t G = (size_t)B * gates * H, N = (size_t)B * H;
    float *hp = arr(N, 1), *cp = arr(N, 1), *g = arr(G, 2), *c = arr(N, 0), *tc = arr(N, 0), *h = arr(N, 0), *peep = arr(3 * H, 0.3f);
    float *dh = arr(N, 1), *ext = arr(N, 1), *dc = arr(N, 1), *dg = arr(G, 0), *bias = arr(gates * H, 0.5f), *hg = arr(G, 0), *dhg = arr(G, 0);
    if (cell == 0) {
      qk_lstm_forward_step(pf, B, H, hp, cp, g, c, tc, h, peep); mix(g, G); mix(c, N); mix(tc, N); mix(h, N);
      qk_lstm_backward_step(pb, B, H, g, cp, tc, dh, ext, dc, dg, 0.5f, peep); mix(dh, N); mix(dc, N); mix(dg, G);
      qk_lstm_forward_step(pf, B, H, hp, cp, g, c, tc, h, NULL); mix(h, N);
      qk_lstm_backward_step(pb, B, H, g, cp, tc, dh, NULL, dc, dg, 0, NULL); mix(dh, N); mix(dg, G);
    } else if (cell == 1) {
      qk_gru_forward_step(pf, B, H, hp, bias, g, hg, h); mix(g, G); mix(hg, G); mix(h, N);
      qk_gru_backward_step(pb, B, H, g, hg, hp, dh, ext, dg, dhg, 0.3f); mix(dh, N); mix(dg, G); mix(dhg, G);
      qk_gru_backward_step(pb, B, H, g, hg, hp, dh, NULL, dg, dhg, 0); mix(dh, N); mix(dg, G); mix(dhg, G);
    } else {
      int relu = cell == 3;
      qk_rnn_forward_step(pf, B, H, relu, hp, g, h); mix(g, N); mix(h, N);
      qk_rnn_backward_step(pb, B, H, relu, h, dh, ext, dg, 0.2f); mix(dh, N); mix(dg, N);
      qk_rnn_backward_step(pb, B, H, relu, h, dh, NULL, dg, 0); mix(dh, N); mix(dg, N);
    }
  }
}
static void window(int B, int K, int U, int V) {
  float *params = arr((size_t)B * 3 * K, 1), *kp = arr((size_t)B * K, 3), *al = arr((size_t)B*K,0), *be = arr((size_t)B*K,0), *ka = arr((size_t)B*K,0);
  float *phi = arr((size_t)B * (U + 1), 0), *w = arr((size_t)B * V, 0), *dw = arr((size_t)B * V, 1), *carry = arr((size_t)B*K, 1), *dp = arr((size_t)B*3*K, 0);
  int *text = malloc(sizeof(int) * B * U); long *len = malloc(sizeof(long) * B);
  for (int i = 0; i < B * U; i++) text[i] = (int)((rnd() + 1) * 0.5f * (V - 1));
  for (int b = 0; b < B; b++) len[b] = b % 3 == 0 ? U : U - 1 - b % (U > 1 ? U - 1 : 1);
  for (int b = 0; b < B; b++) if (len[b] < 1) len[b] = 1;
  for (int i = 0; i < B * K; i++) kp[i] = fabsf(kp[i]) * U / 3;
  qk_window_forward(params, kp, al, be, ka, phi, w, text, len, B, K, U, V, 0.05f);
  mix(al, B*K); mix(be, B*K); mix(ka, B*K); mix(phi, B*(U+1)); mix(w, B*V);
  qk_window_backward(dw, params, al, be, ka, carry, dp, text, len, B, K, U, V, 0.05f); mix(carry, B*K); mix(dp, B*3*K);
}
#include <math.h>
int main(void) {
  int levels[2] = {3, 2};
  for (int l = 0; l < 2; l++) {
    if (qk_set_level(levels[l]) != levels[l]) { printf("level %d not available\n", levels[l]); continue; }
    int shapes[][2] = {{50, 512}, {32, 400}, {1, 37}, {7, 100}, {13, 256}, {3, 48}, {50, 64}};
    for (int i = 0; i < 7; i++) { h_ = 1469598103934665603ull; s_ = 99 + i; run(shapes[i][0], shapes[i][1]); printf("L%d steps %dx%d %016llx\n", levels[l], shapes[i][0], shapes[i][1], (unsigned long long)h_); }
    int ws[][4] = {{32, 10, 40, 77}, {1, 10, 25, 60}, {5, 17, 9, 30}, {3, 3, 70, 80}};
    for (int i = 0; i < 4; i++) { h_ = 1469598103934665603ull; s_ = 7 + i; window(ws[i][0], ws[i][1], ws[i][2], ws[i][3]); printf("L%d window %d/%d/%d %016llx\n", levels[l], ws[i][0], ws[i][1], ws[i][2], (unsigned long long)h_); }
    float *x = arr(1003, 12), *y = arr(1003, 0); qk_tanh(x, y, 1003); h_ = 1469598103934665603ull; mix(y, 1003); qk_sigmoid(x, y, 1003); mix(y, 1003);
    printf("L%d elementwise %016llx\n", levels[l], (unsigned long long)h_);
  }
  return 0;
}
