"""Row-shift convolution: im2col along the kernel *width* only, kernel rows become GEMM rows.

A convolution with vertical stride 1 sums KH kernel rows. Row ``kh`` of output row ``oh`` reads
input row ``oh + kh*dh``: the same input rows, shifted. So instead of copying every KH x KW
patch (im2col makes KH*KW copies of the input), copy only the KW horizontal taps, for *every*
padded input row, channels first (``im2col_chw`` with a one-row kernel), and let one GEMM,
KH times taller, multiply all kernel rows at once::

    cols (n, C*KW, Hp*OW)    cols[n, (c, kw), (h, ow)] = xp[n, c, h, ow*sw + kw]   (KW copies)
    P    (n, KH*O, Hp*OW)  = Wc @ cols[n]        Wc[(kh, o), (c, kw)] = w[o, c, kh, kw]
    y[n, o, (oh, ow)]      = sum_kh P[n, (kh, o), (oh + kh*dh, ow)]                 (the shift)

In the flattened (h, ow) axis, "row oh + kh*dh" is the run of OH*OW values starting at
kh*dh*OW, so the shift is a slice and the sum is KH array additions (``shift_sum``). The
patches shrink by a factor of KH; the GEMM does the same multiply-adds as im2col's (plus the
few extra rows at the padded border) with a short inner dimension C*KW. That pays where the
patch copy dominates: a first layer with few filters (LeNet-5 on RGB images copies 75 floats
per output pixel for 6 multiply-adds each); elsewhere ``im2col_chw`` is faster (the rule and
the figures: ``conv.choose_path``, ``benchmarks/README.md``).

Backward runs the same idea in reverse: ``spread_shifted`` lays dL/dy out as G (n, KH*O,
Hp*OW), block kh holding dL/dy shifted down by kh*dh rows (zeros elsewhere); then
``gWc = sum_n G[n] @ cols[n].T`` and ``gcols = Wc.T @ G``, whose KW taps ``col2im_chw_add``
adds back.
"""
import numpy as np


def shift_sum(P, KH, dh, OH, OW, bias, out):
    """out[n, o, (oh, ow)] = bias[o] + sum_kh P[n, kh*O + o, (oh + kh*dh)*OW + ow]; returns out.

    ``P`` is (n, KH*O, Hp*OW), ``out`` (n, O, OH*OW).

    >>> import numpy as np
    >>> P = np.arange(6, dtype=np.float32).reshape(1, 2, 3)      # n=1, O=1, KH=2, Hp=3, OW=1
    >>> shift_sum(P, 2, 1, 2, 1, np.zeros(1, np.float32), np.empty((1, 1, 2), np.float32))
    array([[[4., 6.]]], dtype=float32)
    """
    O, L = out.shape[1], OH * OW
    np.add(P[:, :O, :L], bias[:, None], out=out)
    for kh in range(1, KH):
        start = kh * dh * OW
        out += P[:, kh * O:(kh + 1) * O, start:start + L]
    return out


def spread_shifted(g, KH, dh, OW, G):
    """Adjoint of ``shift_sum``: G[n, kh*O + o, (oh + kh*dh)*OW + ow] = g[n, o, (oh, ow)], zero
    in the rows of each kh block that no output row reads. ``g`` is (n, O, OH*OW), ``G``
    (n, KH*O, Hp*OW); returns G.

    >>> import numpy as np
    >>> spread_shifted(np.array([[[1., 2.]]], np.float32), 2, 1, 1, np.empty((1, 2, 3), np.float32))
    array([[[1., 2., 0.],
            [0., 1., 2.]]], dtype=float32)
    """
    O, L = g.shape[1], g.shape[2]
    for kh in range(KH):
        start, block = kh * dh * OW, G[:, kh * O:(kh + 1) * O]
        block[:, :, :start] = 0.0
        block[:, :, start:start + L] = g
        block[:, :, start + L:] = 0.0
    return G
