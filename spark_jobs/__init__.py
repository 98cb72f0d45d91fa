"""The batch jobs (synth, link, build, publish), runnable from `leo` or with spark-submit."""
