package io.libk8sha;

/** What happens to a job's checkpoints when its store shuts down. */
public enum JobStatus {
  /** Keep everything: another leader resumes the job. */
  SUSPENDED,
  /** Finished, cancelled or failed: its checkpoints and counter are removed. */
  GLOBALLY_TERMINAL
}
