/* metrics.h - --metrics FILE: a Prometheus textfile-collector file, written
 * atomically (temporary file + rename) when the run ends, failed or not */
#ifndef PAMSH_METRICS_H
#define PAMSH_METRICS_H

/* arrange for the file to be written at process exit with the exit code
 * (also when a script calls os.exit) */
void metrics_at_exit(const char *path, double started_mono, double started_wall);

#endif
