/* queue_worker.c: placeholder until the room is built. */
