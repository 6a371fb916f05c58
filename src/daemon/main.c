/* main.c: placeholder until the room is built. */
