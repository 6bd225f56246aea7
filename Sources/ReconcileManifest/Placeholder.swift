// ReconcileManifest
