/* virtqueue.c: placeholder until the room is built. */
