"""Latent spaces, embeddings (PCA, t-SNE, UMAP) and clustering of jets, and what to embed for a trained model."""
