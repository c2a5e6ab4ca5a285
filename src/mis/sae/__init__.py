"""Units beyond channels: the latents of a dictionary (a sparse autoencoder, or any learned basis)
read from a layer's activation vector at every position, aggregated like channels, and scored by
the same streamed pass (MIS paper, appendix on sparse autoencoders).

- ``dictionary``: the ``Dictionary`` type (linear, ReLU SAE, Gated SAE), its file format, loading a
  dictionary trained elsewhere, the identity dictionary;
- ``readout``: a dictionary on a module as a ``mis.layers.Layer`` of the pass, unit labels
  ``<module>/<dictionary>``, and the layer table with dictionary rows;
- ``sampling``: activation vectors of a layer over the image set, to train on;
- ``training``: standard and Gated SAEs (with ``gated`` and ``compat``, the parts from overcomplete);
- ``metrics``: L0, dead latents, unexplained variance and model fidelity per dictionary.
"""
