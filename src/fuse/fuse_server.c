/* fuse_server.c: placeholder until the room is built. */
