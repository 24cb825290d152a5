/*
** recurrent_step.h -- the struct of one recurrent step, shared by
** recurrent.h (the CPU's row loops) and recurrent.cuh (the GPU's step
** kernels), which get the same pointers and strides.
*/
#ifndef LUNET_RECURRENT_STEP_H
#define LUNET_RECURRENT_STEP_H

/* One step of one layer and direction, over the rows of the batch. Row b
** of a (B, n) block starts at b n; h and dy rows lie ldh floats apart, the
** previous state's ld_prev apart (ldh, or H for the initial state). */
typedef struct rec_step {
  int H, option;
  const float *b_ih, *b_hh; /* (G H) */
  float *gates;             /* (B, G H): in W_ih x, out the activated gates */
  const float *hh;          /* (B, G H): W_hh h_prev */
  const float *h_prev;      /* (B, H), rows ld_prev apart */
  const float *c_prev;      /* (B, H): CELL_HAS_C's previous state */
  float *h;                 /* (B, H), rows ldh apart: the new state */
  float *keep;              /* (B, H): the cell's own per-step values */
  int ldh, ld_prev;
  /* backward */
  const float *dy; /* (B, H), rows ldh apart: dL/dh from the layer's output */
  float *dh;       /* (B, H): in dL/dh from the next step; out h_prev's direct part */
  float *dc;       /* (B, H): in dL/dc from the next step, out dL/dc_prev */
  float *dg;       /* (B, G H): dL/d(gate inputs): W_ih x + b_ih */
  float *dgh;      /* (B, G H): dL/d(W_hh h_prev + b_hh); dg unless CELL_SPLIT */
} rec_step;

#endif
