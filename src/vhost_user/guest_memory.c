/* guest_memory.c: placeholder until the room is built. */
