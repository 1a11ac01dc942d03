"""Loop generation: Lyria RealTime capture, the offline generator, quality metrics and jobs (control loop and worker processes)."""
