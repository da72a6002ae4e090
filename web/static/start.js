MH.start();
