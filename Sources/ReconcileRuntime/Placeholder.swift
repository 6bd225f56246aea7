// ReconcileRuntime
