/*
 * relay_files: maps request paths to files under the web root, safely, and
 * names their MIME types. Nothing outside the root is reachable: no "..", no
 * dotfiles or dot-directories, no symlink whose target leaves the root.
 */
#ifndef RELAY_FILES_H
#define RELAY_FILES_H

#include <stddef.h>

/*
 * Resolves the (already percent-decoded) request path uri against root, an
 * absolute path without symlinks (realpath of the --www dir). "/" and paths
 * naming a directory mean its index.html. Writes the resolved file path to
 * out[0..cap). Returns 0, or -1 if there is no such regular file inside the root
 * (missing, hidden, outside, or a bad path): answer 404 either way.
 */
int relay_files_resolve(const char *root, const char *uri, char *out, size_t cap);

/* Returns the Content-Type for path, by extension; application/octet-stream if unknown. */
const char *relay_files_mime(const char *path);

#endif
